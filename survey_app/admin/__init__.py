"""Administration: accounts and the administrator's console.

- Accounts: users, passwords, logins, sessions (:mod:`.accounts`).
- The console within the administrator's unit scope: units, desks, users,
  questionnaires and the audit log (:mod:`.console`); the unit hierarchy's import
  (:mod:`.units`); the QR codes of desk posters (:mod:`.qr`).

Direction: admin builds on collection (desks, questionnaires) and the core rules
(``audit`` writes the log every domain appends to). It never imports reporting or
weighting; only forms, views, the demo and ``flask`` commands import it
(``.importlinter``).
"""
