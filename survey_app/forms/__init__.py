"""WTForms forms of the staff pages. Forms validate input; they never touch the database."""
