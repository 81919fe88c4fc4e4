"""``python -m tap_zoho_crm.auth``."""

from __future__ import annotations

import sys

from tap_zoho_crm.auth.cli import main

if __name__ == "__main__":
    sys.exit(main())
