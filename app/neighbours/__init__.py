"""Neighbours among themselves: profiles and the « Qui peut m'aider ? »
directory, blocking, and trust (vouching, letters with a code). Who may see
a profile or block someone is app.access; accounts (signup, sessions,
passwords) stand below."""
