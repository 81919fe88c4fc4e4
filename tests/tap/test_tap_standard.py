"""The Singer SDK's standard tap tests, against the emulator's demo org over real HTTP.

The SDK collects these tests by running discovery at import time, so the emulator is started
when this module is imported (and stopped when the session ends).

What these tests can and cannot catch (SDK 0.54.9):

* the "transformed catalog schema matches record" tests only log a warning, so they are not
  checks; `tests/tap/test_tap_full_sync.py` compares every field with the emulator instead;
* the primary-key tests put generator objects in a set, so duplicate keys pass; the project's
  `duplicate_keys` check (`tests/tap/tap_helpers.py`, used in `test_tap_full_sync.py` and
  shown there to catch a fed duplicate) covers that.

They stay because they check the Singer surface (CLI, discovery, catalog, message shapes) as
every SDK tap is checked.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator

_ZOHO = ZohoEmulator(profile="demo", seed=7).start()
atexit.register(_ZOHO.stop)


def _delete_one_record_where_the_recycle_bin_is_empty(zoho: ZohoEmulator) -> None:
    """Give every ``<Module>_deleted`` stream a row, so no standard test is skipped for lack of one.

    A real org's recycle bin is rarely empty in every module; the demo org's is, in a few.
    """
    for module in zoho.module_names():
        if not zoho.deleted_records(module) and zoho.count(module) > 1:
            zoho.delete_record(module, min(zoho.record_ids(module)))


_delete_one_record_where_the_recycle_bin_is_empty(_ZOHO)

TestTapZohoCrm = get_tap_test_class(
    TapZohoCrm,
    config=_ZOHO.tap_config(),
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=250),
)
