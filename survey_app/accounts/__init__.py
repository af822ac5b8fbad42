"""Staff accounts, roles and sign-in. Customers never need an account."""
