"""Building blocks of the ops console (the Django admin for the campaign tree).

`campaigns/admin.py` registers the model admins; this package holds what they share:
`access` (who may do what, and the base classes that enforce it), `forms` (validation before
anything is written), `filters` (the account managers' questions) and `history` (budget and bid
changes on the object pages). Other apps' admins may reuse `access` for tenant-scoped pages.
"""
