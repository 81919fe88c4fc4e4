"""Ways of reading a module that sit on top of the keyset walk (`tap_zoho_crm.paging`)."""
