"""Singer tap for Zoho CRM (API v8), built on the Meltano Singer SDK."""
