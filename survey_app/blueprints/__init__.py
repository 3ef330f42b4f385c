"""One blueprint per audience: public pages, accounts, dashboard."""
