"""``tap-zoho-crm auth``: get a Zoho refresh token for the tap, in a Self Client or a browser flow.

Run as ``tap-zoho-crm auth`` or ``python -m tap_zoho_crm.auth``. ``grant.py`` speaks to Zoho
Accounts (consent URL, the loopback redirect listener, the code exchange, the ``org`` check);
``cli.py`` asks the user, writes the refresh token only where asked, and prints the next steps.
"""
