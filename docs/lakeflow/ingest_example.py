"""Lakeflow Declarative Pipeline source file: ingest Zoho CRM through lakeflow_bridge.

Use it as the pipeline's ingest file on Databricks. The pipeline environment needs
``tap-zoho-crm[spark]`` and the Lakeflow Community Connectors framework
(``databricks-labs-community-connector``); ``spark`` is the pipeline's session.
"""

from databricks.labs.community_connector.pipeline.ingestion_pipeline import ingest

from lakeflow_bridge.datasource import register_lakeflow_source

pipeline_spec = {
    # A Unity Catalog connection holding client_id, client_secret, refresh_token and, outside
    # the US data centre, base_url (the Zoho accounts URL). Its externalOptionsAllowList is
    # "max_records_per_batch".
    "connection_name": "zoho_crm_connection",
    "objects": [
        # Modules with deleted-record tracking: cdc_with_deletes on id / Modified_Time.
        {"table": {"source_table": "Leads"}},
        {
            "table": {
                "source_table": "Contacts",
                "destination_table": "zoho_contacts",
                "table_configuration": {"max_records_per_batch": "5000"},
            }
        },
        {"table": {"source_table": "Deals", "table_configuration": {"scd_type": "SCD_TYPE_2"}}},
        # cdc on Modified_Time.
        {"table": {"source_table": "Users"}},
        # Snapshots: Roles, Profiles, Org and the junction tables.
        {"table": {"source_table": "Roles"}},
        {"table": {"source_table": "Campaigns_Leads"}},
    ],
}

register_lakeflow_source(spark)  # type: ignore[name-defined]  # noqa: F821 - the pipeline's session
ingest(spark, pipeline_spec)  # type: ignore[name-defined]  # noqa: F821
