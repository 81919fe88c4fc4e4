"""The modules an emulated org can hold, with realistic Zoho field sets.

Every data type of the spec's field table appears at least once: the exotic ones mostly on the
custom module ``Installations`` (more than 50 fields, a custom subform and a multi-user lookup).
"""

from __future__ import annotations

from typing import Any

from .metadata import FieldDef, ModuleDef

LEAD_SOURCES = (
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Seminar Partner",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
)
INDUSTRIES = (
    "ASP (Application Service Provider)",
    "Data/Telecom OEM",
    "ERP (Enterprise Resource Planning)",
    "Government/Military",
    "Large Enterprise",
    "ManagementISV",
    "MSP (Management Service Provider)",
    "Network Equipment Enterprise",
    "Non-management ISV",
    "Optical Networking",
    "Service Provider",
    "Small/Medium Enterprise",
    "Storage Equipment",
    "Storage Service Provider",
    "Systems Integrator",
    "Wireless Industry",
)
#: The module consent lookups point at (Zoho's GDPR consent records; not API-readable here).
CONSENTS = "Consents"
RATINGS = ("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down")


def f(api_name: str, data_type: str, gen: str = "", **kw: Any) -> FieldDef:
    return FieldDef(api_name=api_name, data_type=data_type, gen=gen, **kw)


def pick(api_name: str, options: tuple[str, ...], **kw: Any) -> FieldDef:
    return FieldDef(api_name=api_name, data_type="picklist", options=options, **kw)


def lookup(api_name: str, target: str, **kw: Any) -> FieldDef:
    return FieldDef(api_name=api_name, data_type="lookup", lookup=target, **kw)


def consent(api_name: str) -> FieldDef:
    """A consent lookup: to a consent record of its own (``Consents``, not API-readable)."""
    return FieldDef(
        api_name=api_name, data_type="consent_lookup", gen="consent", lookup=CONSENTS, null_pct=60
    )


def head() -> list[FieldDef]:
    return [
        f("id", "bigint", "id", label="Record Id", read_only=True, meta={"length": 18}),
        f("Owner", "ownerlookup", "owner", label="Record Owner", mandatory=True),
    ]


def tail(*, tag: bool = True, layout: bool = True, activity: bool = False) -> list[FieldDef]:
    out = [
        f("Created_By", "ownerlookup", "created_by", read_only=True),
        f("Modified_By", "ownerlookup", "modified_by", read_only=True),
        f("Created_Time", "datetime", "created_time", read_only=True),
        f("Modified_Time", "datetime", "modified_time", read_only=True),
    ]
    if activity:
        out.append(f("Last_Activity_Time", "datetime", "last_activity", read_only=True))
    if tag:
        out.append(f("Tag", "text", "tag", json_type="jsonarray", read_only=True))
    if layout:
        out.append(f("Layout", "layout", "layout", read_only=True))
    out.append(f("Locked__s", "boolean", "false", label="Locked", read_only=True))
    return out


def address(prefix: str) -> list[FieldDef]:
    return [
        f(f"{prefix}Street", "text", "street", null_pct=10),
        f(f"{prefix}City", "text", "city", null_pct=10),
        f(f"{prefix}State", "text", "state", null_pct=10),
        f(f"{prefix}Code" if prefix else "Zip_Code", "text", "zip", null_pct=10),
        f(f"{prefix}Country", "text", "country", null_pct=10),
    ]


def person_fields() -> list[FieldDef]:
    return [
        pick("Salutation", ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof."), null_pct=30),
        f("First_Name", "text", "first_name"),
        f("Last_Name", "text", "last_name", mandatory=True),
        f("Full_Name", "text", "full_name", read_only=True),
        f("Email", "email", "email", null_pct=5),
        f("Secondary_Email", "email", "email2", null_pct=70),
        f("Phone", "phone", "phone", null_pct=10),
        f("Mobile", "phone", "phone", null_pct=30),
        f("Fax", "phone", "phone", null_pct=80),
    ]


def line_item_module(api_name: str, parent: str) -> ModuleDef:
    """Inventory line items: a subform module only readable through its parent's single GET."""
    return ModuleDef(
        api_name,
        api_name.replace("_", " ")[:-1],
        api_name.replace("_", " "),
        [
            f("id", "bigint", "id", read_only=True),
            lookup("Product_Name", "Products", mandatory=True),
            f("Quantity", "double", "line_qty"),
            f("List_Price", "currency", "price"),
            f("Discount", "currency", "small_money"),
            f("Total", "currency", "line_total", read_only=True),
            f("Net_Total", "currency", "line_total", read_only=True),
            f("Tax", "currency", "small_money"),
            f("Product_Description", "textarea", "sentence", null_pct=50),
            f("Sequence_Number", "integer", "row_sequence", read_only=True),
            lookup("Parent_Id", parent, read_only=True, gen="row_parent"),
            f("Created_Time", "datetime", "row_time", read_only=True),
            f("Modified_Time", "datetime", "row_time", read_only=True),
        ],
        generated_type="subform",
        name_field="Product_Description",
        parent_module=parent,
    )


def inventory_module(api_name: str, singular: str, items: str, extra: list[FieldDef]) -> ModuleDef:
    return ModuleDef(
        api_name,
        singular,
        api_name.replace("_", " "),
        [
            *head(),
            f("Subject", "text", "name", mandatory=True),
            *extra,
            lookup("Contact_Name", "Contacts", null_pct=10),
            lookup("Account_Name", "Accounts", null_pct=5),
            pick("Carrier", ("FedEX", "UPS", "USPS", "DHL", "BlueDart"), null_pct=20),
            *address("Billing_"),
            *address("Shipping_"),
            f(
                items,
                "subform",
                "subform",
                mandatory=True,
                meta={"associated_module": items},
            ),
            f("Sub_Total", "currency", "items_subtotal", read_only=True),
            f("Discount", "currency", "small_money"),
            f("Tax", "currency", "small_money"),
            f("Adjustment", "currency", "small_money"),
            f("Grand_Total", "currency", "items_total", read_only=True),
            f("Line_Tax", "linetax", "linetax", read_only=True),
            pick("Currency", ("USD", "EUR", "INR")),
            f("Exchange_Rate", "double", "exchange_rate"),
            f("Terms_and_Conditions", "textarea", "sentence", null_pct=40),
            f("Description", "textarea", "sentence", null_pct=40),
            *tail(),
        ],
        inventory=True,
        name_field="Subject",
        name_gen="inventory",
        notes=True,
        attachments=True,
    )


def build_catalog() -> list[ModuleDef]:
    """Fresh definitions (mutable: ``add_field`` appends to them), in slot order."""
    modules: list[ModuleDef] = []
    add = modules.append

    add(
        ModuleDef(
            "Leads",
            "Lead",
            "Leads",
            [
                *head(),
                f("Company", "text", "company", mandatory=True),
                *person_fields(),
                f("Designation", "text", "title", label="Title", null_pct=20),
                f("Website", "website", "website", null_pct=40),
                pick("Lead_Source", LEAD_SOURCES, null_pct=10),
                pick(
                    "Lead_Status",
                    (
                        "Attempted to Contact",
                        "Contact in Future",
                        "Contacted",
                        "Junk Lead",
                        "Lost Lead",
                        "Not Contacted",
                        "Pre-Qualified",
                        "Not Qualified",
                    ),
                ),
                pick("Industry", INDUSTRIES, null_pct=20),
                f("No_of_Employees", "integer", "integer", meta={"lo": 1, "hi": 50_000}),
                f("Annual_Revenue", "currency", "money", null_pct=20),
                pick("Rating", RATINGS, null_pct=40),
                f("Email_Opt_Out", "boolean", "boolean"),
                f("Skype_ID", "text", "skype", null_pct=60),
                f("Twitter", "text", "twitter", null_pct=60),
                *address(""),
                f("Description", "textarea", "paragraph", meta={"textarea": "large"}, null_pct=30),
                f(
                    "Preferred_Channels",
                    "multiselectpicklist",
                    "multiselectpicklist",
                    options=("Email", "Phone", "SMS", "WhatsApp", "In person"),
                    custom=True,
                ),
                f("Lead_Score", "integer", "integer", custom=True, meta={"lo": 0, "hi": 100}),
                f("Converted__s", "boolean", "converted", label="Converted", read_only=True),
                f("Converted_Date_Time", "datetime", "converted_time", read_only=True),
                f("Record_Image", "profileimage", "record_image", null_pct=70),
                consent("Data_Processing_Basis_Details"),
                f(
                    "Interested_Products",
                    "multiselectlookup",
                    "msl",
                    custom=True,
                    meta={
                        "linking_module": "Leads_X_Products",
                        "connected_module": "Products",
                        "lookup_apiname": "Lead",
                        "connectedlookup_apiname": "Product",
                    },
                ),
                f("Change_Log_Time__s", "datetime", "modified_time", view=False, read_only=True),
                *tail(activity=True),
            ],
            name_field="Full_Name",
            convertible=True,
            notes=True,
            attachments=True,
        )
    )
    add(
        ModuleDef(
            "Contacts",
            "Contact",
            "Contacts",
            [
                *head(),
                *person_fields(),
                lookup("Account_Name", "Accounts", null_pct=10),
                lookup("Vendor_Name", "Vendors", null_pct=80),
                lookup("Reports_To", "Contacts", null_pct=80),
                f("Title", "text", "title", null_pct=20),
                f("Department", "text", "department", null_pct=40),
                f("Date_of_Birth", "date", "birthday", null_pct=60),
                pick("Lead_Source", LEAD_SOURCES, null_pct=10),
                f("Assistant", "text", "first_name", null_pct=80),
                f("Asst_Phone", "phone", "phone", null_pct=80),
                f("Email_Opt_Out", "boolean", "boolean"),
                *address("Mailing_"),
                f("Description", "textarea", "sentence", null_pct=40),
                f("Record_Image", "profileimage", "record_image", null_pct=70),
                consent("Data_Processing_Basis_Details"),
                *tail(activity=True),
            ],
            name_field="Full_Name",
            notes=True,
            attachments=True,
        )
    )
    add(
        ModuleDef(
            "Accounts",
            "Account",
            "Accounts",
            [
                *head(),
                f("Account_Name", "text", "name", mandatory=True),
                f("Account_Number", "bigint", "bigint_str", null_pct=30, meta={"length": 16}),
                f("Account_Site", "text", "city", null_pct=50),
                lookup("Parent_Account", "Accounts", null_pct=85),
                pick(
                    "Account_Type",
                    (
                        "Analyst",
                        "Competitor",
                        "Customer",
                        "Distributor",
                        "Integrator",
                        "Investor",
                        "Partner",
                        "Press",
                        "Prospect",
                        "Reseller",
                    ),
                ),
                pick("Industry", INDUSTRIES, null_pct=20),
                f("Annual_Revenue", "currency", "money", null_pct=20),
                f("Employees", "integer", "integer", meta={"lo": 1, "hi": 100_000}),
                pick("Ownership", ("Private", "Public", "Partnership", "Government")),
                f("Phone", "phone", "phone", null_pct=10),
                f("Fax", "phone", "phone", null_pct=80),
                f("Website", "website", "website", null_pct=20),
                f("Ticker_Symbol", "text", "ticker", null_pct=70),
                pick("Rating", RATINGS, null_pct=40),
                f("SIC_Code", "integer", "integer", null_pct=50, meta={"lo": 1000, "hi": 9999}),
                *address("Billing_"),
                *address("Shipping_"),
                f("Description", "textarea", "sentence", null_pct=40),
                f("Record_Image", "profileimage", "record_image", null_pct=70),
                *tail(activity=True),
            ],
            name_field="Account_Name",
            name_gen="company",
            notes=True,
            attachments=True,
        )
    )
    add(
        ModuleDef(
            "Deals",
            "Deal",
            "Deals",
            [
                *head(),
                f("Deal_Name", "text", "name", mandatory=True),
                f("Amount", "currency", "money"),
                pick(
                    "Stage",
                    (
                        "Qualification",
                        "Needs Analysis",
                        "Value Proposition",
                        "Identify Decision Makers",
                        "Proposal/Price Quote",
                        "Negotiation/Review",
                        "Closed Won",
                        "Closed Lost",
                        "Closed Lost to Competition",
                    ),
                    mandatory=True,
                ),
                f("Probability", "percent", "percent"),
                f("Expected_Revenue", "currency", "expected_revenue", read_only=True),
                f("Closing_Date", "date", "date", mandatory=True),
                lookup("Account_Name", "Accounts", null_pct=5),
                lookup("Contact_Name", "Contacts", null_pct=20),
                lookup("Campaign_Source", "Campaigns", null_pct=70),
                pick("Type", ("Existing Business", "New Business"), null_pct=20),
                f("Next_Step", "text", "words", null_pct=50),
                pick("Lead_Source", LEAD_SOURCES, null_pct=10),
                pick("Pipeline", ("Standard (Standard)", "Enterprise"), mandatory=True),
                pick(
                    "Reason_For_Loss__s",
                    ("Price", "Competition", "No budget", "Lost to status quo"),
                    null_pct=70,
                ),
                f("Lead_Conversion_Time", "integer", "integer", meta={"lo": 0, "hi": 90}),
                f("Sales_Cycle_Duration", "integer", "integer", meta={"lo": 1, "hi": 365}),
                f("Overall_Sales_Duration", "integer", "integer", meta={"lo": 1, "hi": 400}),
                f("Description", "textarea", "sentence", null_pct=40),
                *tail(activity=True),
            ],
            name_field="Deal_Name",
            name_gen="deal",
            notes=True,
            attachments=True,
        )
    )
    activity_status = ("Not Started", "Deferred", "In Progress", "Completed", "Waiting for input")
    add(
        ModuleDef(
            "Tasks",
            "Task",
            "Tasks",
            [
                *head(),
                f("Subject", "text", "name", mandatory=True),
                f("Due_Date", "date", "date", null_pct=10),
                pick("Status", activity_status),
                pick("Priority", ("High", "Highest", "Low", "Lowest", "Normal")),
                f("What_Id", "multi_module_lookup", "what_id", null_pct=20),
                lookup("Who_Id", "Contacts", null_pct=30, label="Contact Name"),
                f("Remind_At", "ALARM", "alarm", null_pct=60),
                f("Recurring_Activity", "RRULE", "rrule", null_pct=80),
                f("Send_Notification_Email", "boolean", "boolean"),
                f("Closed_Time", "datetime", "datetime", null_pct=50, read_only=True),
                f("Description", "textarea", "sentence", null_pct=40),
                *tail(),
            ],
            name_field="Subject",
            name_gen="task",
            notes=True,
        )
    )
    add(
        ModuleDef(
            "Events",
            "Meeting",
            "Meetings",
            [
                *head(),
                f("Event_Title", "text", "name", mandatory=True),
                f("Start_DateTime", "datetime", "datetime", mandatory=True),
                f("End_DateTime", "datetime", "datetime_after", mandatory=True),
                f("All_day", "boolean", "boolean"),
                f("Venue", "text", "city", null_pct=40),
                f("What_Id", "multi_module_lookup", "what_id", null_pct=20),
                lookup("Who_Id", "Contacts", null_pct=30, label="Contact Name"),
                f("Remind_At", "event_reminder", "event_reminder", null_pct=50),
                f("Reminders", "multireminder", "multireminder", null_pct=50),
                f("Recurring_Activity", "RRULE", "rrule", null_pct=80),
                f("Check_In_Time", "datetime", "datetime", null_pct=80, read_only=True),
                f("Description", "textarea", "sentence", null_pct=40),
                *tail(),
            ],
            name_field="Event_Title",
            name_gen="event",
            module_name="Events",
            notes=True,
        )
    )
    add(
        ModuleDef(
            "Calls",
            "Call",
            "Calls",
            [
                *head(),
                f("Subject", "text", "name", mandatory=True),
                pick("Call_Type", ("Outbound", "Inbound", "Missed"), mandatory=True),
                pick(
                    "Call_Purpose",
                    ("Prospecting", "Administrative", "Negotiation", "Demo", "Project"),
                    null_pct=30,
                ),
                f("Call_Start_Time", "datetime", "datetime", mandatory=True),
                f("Call_Duration", "text", "duration"),
                f("Call_Duration_in_seconds", "integer", "integer", meta={"lo": 0, "hi": 3600}),
                pick("Call_Result", ("Interested", "Not interested", "No response", "Busy")),
                f("What_Id", "multi_module_lookup", "what_id", null_pct=20),
                lookup("Who_Id", "Contacts", null_pct=30, label="Contact Name"),
                f("Reminder", "ALARM", "alarm", null_pct=80),
                f("Description", "textarea", "sentence", null_pct=40),
                *tail(),
            ],
            name_field="Subject",
            name_gen="call",
            notes=True,
        )
    )
    add(
        ModuleDef(
            "Products",
            "Product",
            "Products",
            [
                *head(),
                f("Product_Name", "text", "name", mandatory=True),
                f("Product_Code", "text", "code", null_pct=10),
                f("Product_Active", "boolean", "boolean"),
                pick("Product_Category", ("Hardware", "Software", "CRM Applications")),
                pick("Manufacturer", ("AltvetPet Inc.", "LexPro Corp.", "MetBeat Corp.")),
                lookup("Vendor_Name", "Vendors", null_pct=30),
                f("Unit_Price", "currency", "price"),
                f("Commission_Rate", "currency", "small_money", null_pct=50),
                f(
                    "Tax",
                    "multiselectpicklist",
                    "multiselectpicklist",
                    options=("Sales Tax", "Vat", "Service Tax"),
                ),
                f("Qty_in_Stock", "double", "quantity"),
                f("Qty_Ordered", "double", "quantity"),
                f("Reorder_Level", "double", "quantity"),
                pick("Usage_Unit", ("Box", "Carton", "Dozen", "Each", "Hours", "Pieces")),
                f("Sales_Start_Date", "date", "date", null_pct=30),
                f("Sales_End_Date", "date", "date", null_pct=50),
                f("Support_Start_Date", "date", "date", null_pct=50),
                f("Description", "textarea", "sentence", null_pct=40),
                f("Record_Image", "profileimage", "record_image", null_pct=70),
                *tail(),
            ],
            name_field="Product_Name",
            name_gen="product",
            notes=True,
            attachments=True,
        )
    )
    add(
        ModuleDef(
            "Campaigns",
            "Campaign",
            "Campaigns",
            [
                *head(),
                f("Campaign_Name", "text", "name", mandatory=True),
                pick(
                    "Type",
                    (
                        "Advertisement",
                        "Banner Ads",
                        "Conference",
                        "Direct mail",
                        "Email",
                        "Partner",
                        "Public Relations",
                        "Referral Program",
                        "Telemarketing",
                        "Trade Show",
                        "Webinar",
                    ),
                ),
                pick("Status", ("Planning", "Active", "Inactive", "Complete")),
                f("Start_Date", "date", "date"),
                f("End_Date", "date", "date", null_pct=20),
                f("Expected_Revenue", "currency", "money"),
                f("Budgeted_Cost", "currency", "money"),
                f("Actual_Cost", "currency", "money", null_pct=30),
                f("Expected_Response", "integer", "integer", meta={"lo": 10, "hi": 5000}),
                f("Num_sent", "integer", "integer", meta={"lo": 0, "hi": 20000}),
                lookup("Parent_Campaign", "Campaigns", null_pct=85),
                f("Description", "textarea", "sentence", null_pct=40),
                *tail(),
            ],
            name_field="Campaign_Name",
            name_gen="campaign",
            notes=True,
        )
    )
    add(
        ModuleDef(
            "Vendors",
            "Vendor",
            "Vendors",
            [
                *head(),
                f("Vendor_Name", "text", "name", mandatory=True),
                f("Email", "email", "company_email", null_pct=10),
                f("Phone", "phone", "phone", null_pct=10),
                f("Website", "website", "website", null_pct=20),
                pick("GL_Account", ("Sales-Software", "Sales-Hardware", "Rental-Income")),
                f("Category", "text", "words", null_pct=40),
                *address(""),
                f("Description", "textarea", "sentence", null_pct=40),
                f("Record_Image", "profileimage", "record_image", null_pct=70),
                *tail(),
            ],
            name_field="Vendor_Name",
            name_gen="company",
            inventory=False,
            notes=True,
        )
    )
    add(
        ModuleDef(
            "Price_Books",
            "Price Book",
            "Price Books",
            [
                *head(),
                f("Price_Book_Name", "text", "name", mandatory=True),
                f("Active", "boolean", "boolean"),
                pick("Pricing_Model", ("None", "Flat", "Differential")),
                f("Description", "textarea", "sentence", null_pct=40),
                *tail(),
            ],
            name_field="Price_Book_Name",
            name_gen="price_book",
            notes=True,
        )
    )
    add(
        ModuleDef(
            "Cases",
            "Case",
            "Cases",
            [
                *head(),
                f("Case_Number", "autonumber", "autonumber", meta={"prefix": "CS-"}),
                f("Subject", "text", "name", mandatory=True),
                pick("Status", ("New", "On Hold", "Escalated", "Closed")),
                pick("Priority", ("High", "Medium", "Low")),
                pick("Case_Origin", ("Email", "Phone", "Web")),
                pick("Type", ("Question", "Problem", "Feature Request")),
                pick(
                    "Case_Reason",
                    ("User did not attend any training", "Complex functionality", "Instructions"),
                    null_pct=40,
                ),
                lookup("Product_Name", "Products", null_pct=30),
                lookup("Account_Name", "Accounts", null_pct=20),
                lookup("Related_To", "Contacts", null_pct=20),
                lookup("Deal_Name", "Deals", null_pct=60),
                f("Email", "email", "email", null_pct=20),
                f("Phone", "phone", "phone", null_pct=30),
                f("Reported_By", "text", "full_name_other", null_pct=30),
                f("No_of_comments", "integer", "integer", meta={"lo": 0, "hi": 30}),
                f("Description", "textarea", "sentence", null_pct=10),
                f("Internal_Comments", "textarea", "sentence", null_pct=60),
                f("Solution", "textarea", "sentence", null_pct=60),
                *tail(),
            ],
            name_field="Subject",
            name_gen="case",
            notes=True,
            attachments=True,
        )
    )
    add(
        ModuleDef(
            "Solutions",
            "Solution",
            "Solutions",
            [
                *head(),
                f("Solution_Number", "autonumber", "autonumber", meta={"prefix": "SOL-"}),
                f("Solution_Title", "text", "name", mandatory=True),
                pick("Status", ("Draft", "Reviewed", "Duplicate")),
                lookup("Product_Name", "Products", null_pct=30),
                f("Question", "textarea", "sentence"),
                f(
                    "Answer",
                    "textarea",
                    "rich_text",
                    meta={"textarea": "rich_text"},
                    null_pct=10,
                ),
                f("Published", "boolean", "boolean"),
                f("No_of_comments", "integer", "integer", meta={"lo": 0, "hi": 30}),
                *tail(),
            ],
            name_field="Solution_Title",
            name_gen="solution",
            notes=True,
        )
    )
    add(
        ModuleDef(
            "Notes",
            "Note",
            "Notes",
            [
                *head(),
                f("Note_Title", "text", "name", null_pct=10),
                f("Note_Content", "textarea", "paragraph", meta={"textarea": "large"}),
                lookup("Parent_Id", "", gen="note_parent", mandatory=True),
                *tail(tag=False, layout=False),
            ],
            name_field="Note_Title",
            name_gen="note",
        )
    )
    add(
        inventory_module(
            "Quotes",
            "Quote",
            "Quoted_Items",
            [
                pick(
                    "Quote_Stage",
                    ("Draft", "Negotiation", "Delivered", "On Hold", "Confirmed", "Closed Won"),
                ),
                f("Valid_Till", "date", "date", null_pct=10),
                lookup("Deal_Name", "Deals", null_pct=20),
                f("Team", "text", "words", null_pct=60),
            ],
        )
    )
    add(
        inventory_module(
            "Sales_Orders",
            "Sales Order",
            "Ordered_Items",
            [
                pick("Status", ("Created", "Approved", "Delivered", "Cancelled")),
                f("Due_Date", "date", "date"),
                lookup("Deal_Name", "Deals", null_pct=20),
                lookup("Quote_Name", "Quotes", null_pct=30),
                f("Customer_No", "text", "code", null_pct=30),
                f("Excise_Duty", "currency", "small_money", null_pct=50),
                f("Sales_Commission", "currency", "small_money", null_pct=50),
            ],
        )
    )
    add(
        inventory_module(
            "Purchase_Orders",
            "Purchase Order",
            "Purchased_Items",
            [
                pick("Status", ("Created", "Approved", "Delivered", "Cancelled")),
                f("PO_Date", "date", "date"),
                f("Due_Date", "date", "date"),
                lookup("Vendor_Name", "Vendors", mandatory=True),
                f("Requisition_No", "text", "code", null_pct=40),
                f("Tracking_Number", "text", "code", null_pct=40),
                f("Excise_Duty", "currency", "small_money", null_pct=50),
            ],
        )
    )
    add(
        inventory_module(
            "Invoices",
            "Invoice",
            "Invoiced_Items",
            [
                pick("Status", ("Created", "Approved", "Delivered", "Cancelled")),
                f("Invoice_Date", "date", "date"),
                f("Due_Date", "date", "date"),
                lookup("Sales_Order", "Sales_Orders", null_pct=30),
                lookup("Deal_Name", "Deals", null_pct=30),
                f("Excise_Duty", "currency", "small_money", null_pct=50),
                f("Sales_Commission", "currency", "small_money", null_pct=50),
            ],
        )
    )
    add(installations())
    add(
        ModuleDef(
            "Leads_X_Products",
            "Leads X Product",
            "Leads X Products",
            [
                f("id", "bigint", "id", read_only=True),
                lookup("Lead", "Leads", gen="link_parent", mandatory=True),
                lookup("Product", "Products", gen="link_other", mandatory=True),
                f("Owner", "ownerlookup", "owner"),
                *tail(tag=False, layout=False),
            ],
            generated_type="linking",
            name_field="id",
            name_gen="id",
            link_parent="Leads",
        )
    )
    add(
        ModuleDef(
            "Installations_X_Users",
            "Installations X User",
            "Installations X Users",
            [
                f("id", "bigint", "id", read_only=True),
                lookup("Installation", "Installations", gen="link_parent", mandatory=True),
                f("Crew_Member", "userlookup", "link_user", mandatory=True),
                *tail(tag=False, layout=False),
            ],
            generated_type="linking",
            name_field="id",
            name_gen="id",
            link_parent="Installations",
        )
    )
    add(line_item_module("Quoted_Items", "Quotes"))
    add(line_item_module("Ordered_Items", "Sales_Orders"))
    add(line_item_module("Purchased_Items", "Purchase_Orders"))
    add(line_item_module("Invoiced_Items", "Invoices"))
    add(
        ModuleDef(
            "Installation_Parts",
            "Installation Part",
            "Installation Parts",
            [
                f("id", "bigint", "id", read_only=True),
                f("Part_Name", "text", "product_name_plain"),
                lookup("Part", "Products", null_pct=20),
                f("Quantity", "integer", "integer", meta={"lo": 1, "hi": 12}),
                f("Unit_Cost", "currency", "price"),
                f("Installed", "boolean", "boolean"),
                f("Installed_On", "date", "date", null_pct=30),
                f("Sequence_Number", "integer", "row_sequence", read_only=True),
                lookup("Parent_Id", "Installations", read_only=True, gen="row_parent"),
                f("Created_Time", "datetime", "row_time", read_only=True),
                f("Modified_Time", "datetime", "row_time", read_only=True),
            ],
            generated_type="subform",
            name_field="Part_Name",
            parent_module="Installations",
        )
    )
    add(
        ModuleDef(
            "Home",
            "Home",
            "Home",
            [],
            api_supported=False,
            generated_type="default",
        )
    )
    add(
        ModuleDef(
            "Feeds",
            "Feed",
            "Feeds",
            [],
            api_supported=False,
            generated_type="default",
        )
    )
    add(
        ModuleDef(
            "Actions_Performed",
            "Action Performed",
            "Actions Performed",
            [],
            generated_type="default",
            fields_204=True,
        )
    )
    # Consent records, which consent lookups point at (listed last: other slots stay put).
    add(
        ModuleDef(
            CONSENTS,
            "Consent",
            "Consents",
            [f("id", "bigint", "id", read_only=True), f("Name", "text", "consent_name")],
            api_supported=False,
            generated_type="default",
            name_field="Name",
        )
    )
    for slot, mdef in enumerate(modules, start=1):
        mdef.slot = slot
        mdef.sequence = slot + 1
    return modules


def installations() -> ModuleDef:
    """The custom module: more than 50 fields and every exotic data type of the spec's table."""
    fields = [
        *head(),
        f("Name", "text", "name", mandatory=True, label="Installation Name"),
        f("Installation_Code", "autonumber", "autonumber", meta={"prefix": "INS-"}),
        pick("Status", ("Planned", "Scheduled", "In Progress", "Done", "Cancelled")),
        lookup("Site", "Accounts", null_pct=10),
        lookup("Primary_Contact", "Contacts", null_pct=20),
        f("Technician", "userlookup", "user", null_pct=20),
        f(
            "Crew",
            "multiuserlookup",
            "msl",
            meta={
                "linking_module": "Installations_X_Users",
                "lookup_apiname": "Installation",
                "connectedlookup_apiname": "Crew_Member",
            },
        ),
        f("Site_Address", "textarea", "street", meta={"textarea": "small"}),
        f("Long_Notes", "textarea", "paragraph", meta={"textarea": "large"}, null_pct=30),
        f("Rich_Summary", "textarea", "rich_text", meta={"textarea": "rich_text"}, null_pct=10),
        f("Units", "integer", "integer", meta={"lo": 1, "hi": 250}),
        f("Serial_Big", "bigint", "bigint_int", null_pct=10, meta={"length": 18}),
        f("Amount", "currency", "money"),
        f("Discount_Pct", "percent", "percent"),
        f("Weight_Kg", "double", "quantity"),
        f("Active", "boolean", "boolean"),
        f("Install_Date", "date", "date"),
        f("Scheduled_At", "datetime", "datetime", null_pct=10),
        f(
            "Features",
            "multiselectpicklist",
            "multiselectpicklist",
            options=("Solar", "Battery", "Inverter", "Monitoring", "EV charger", "Heat pump"),
        ),
        f("Territories", "territories", "territories", read_only=True),
        f("Record_Image", "profileimage", "record_image", null_pct=50),
        f("Photos", "imageupload", "imageupload", null_pct=50, meta={"length": 5}),
        f("Documents", "fileupload", "fileupload", null_pct=50, meta={"length": 5}),
        f("Margin", "formula", "formula", meta={"return_type": "double", "expr": "margin"}),
        f("Net_Amount", "formula", "formula", meta={"return_type": "currency", "expr": "net"}),
        f("Is_Large", "formula", "formula", meta={"return_type": "boolean", "expr": "large"}),
        f("Due_Label", "formula", "formula", meta={"return_type": "text", "expr": "label"}),
        f("Follow_Up_On", "formula", "formula", meta={"return_type": "date", "expr": "followup"}),
        f(
            "Parts_Count",
            "rollup_summary",
            "rollup",
            meta={"return_type": "integer", "based_on": "Installation_Parts", "expr": "count"},
        ),
        f(
            "Last_Part_Change",
            "rollup_summary",
            "rollup",
            meta={
                "return_type": "datetime",
                "based_on": "Installation_Parts",
                "expr": "latest",
                "rollup_based_on": "MAX",
            },
        ),
        f("Related_To", "multi_module_lookup", "what_id", null_pct=30),
        f("Visit_Reminder", "ALARM", "alarm", null_pct=60),
        f("Maintenance_Rule", "RRULE", "rrule", null_pct=60),
        f("Reminders", "multireminder", "multireminder", null_pct=60),
        f("Next_Visit_Reminder", "event_reminder", "event_reminder", null_pct=60),
        f("Line_Tax", "linetax", "linetax", null_pct=50),
        f(
            "Installation_Parts",
            "subform",
            "subform",
            meta={"associated_module": "Installation_Parts"},
        ),
        consent("Consent"),
        f("Contact_Email", "email", "email", null_pct=20),
        f("Site_Phone", "phone", "phone", null_pct=20),
        f("Site_Website", "website", "website", null_pct=50),
    ]
    checklist = [
        ("Roof_Inspected", "boolean", "boolean"),
        ("Permit_Number", "text", "code"),
        ("Permit_Date", "date", "date"),
        ("Panel_Count", "integer", "integer"),
        ("Panel_Model", "text", "words"),
        ("Inverter_Model", "text", "words"),
        ("Battery_Capacity_kWh", "double", "quantity"),
        ("Grid_Connected", "boolean", "boolean"),
        ("Grid_Connection_Date", "date", "date"),
        ("Warranty_Years", "integer", "integer"),
        ("Warranty_Expires", "date", "date"),
        ("Inspection_Score", "percent", "percent"),
        ("Customer_Rating", "integer", "integer"),
        ("Travel_Cost", "currency", "small_money"),
        ("Labour_Hours", "double", "quantity"),
        ("Handover_Notes", "textarea", "sentence"),
        ("Priority", "picklist", "picklist"),
    ]
    for api_name, data_type, gen in checklist:
        fields.append(
            FieldDef(
                api_name=api_name,
                data_type=data_type,
                gen=gen,
                custom=True,
                null_pct=15,
                options=("Low", "Normal", "High") if data_type == "picklist" else (),
                meta={"lo": 1, "hi": 60} if data_type == "integer" else {},
            )
        )
    fields.extend(tail(activity=True))
    for fdef in fields:
        if fdef.api_name not in ("id", "Owner", "Created_By", "Modified_By"):
            fdef.custom = fdef.custom or fdef.api_name not in (
                "Created_Time",
                "Modified_Time",
                "Tag",
                "Layout",
                "Locked__s",
                "Last_Activity_Time",
                "Name",
            )
    return ModuleDef(
        "Installations",
        "Installation",
        "Installations",
        fields,
        generated_type="custom",
        name_field="Name",
        name_gen="installation",
        module_name="CustomModule1",
        notes=True,
        attachments=True,
    )
