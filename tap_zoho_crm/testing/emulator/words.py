"""Word lists for realistic, deterministic fake data (written for this project)."""

FIRST_NAMES = (
    "Aarav", "Abigail", "Adaeze", "Ahmed", "Aiko", "Alejandro", "Alice", "Amara", "Ana",
    "Andrei", "Anika", "Arjun", "Astrid", "Beatriz", "Ben", "Bianca", "Bruno", "Camila", "Carlos",
    "Chen", "Chiara", "Chloe", "Daniel", "Dmitri", "Elena", "Emeka", "Emma", "Farah", "Felix",
    "Fatima", "Gabriel", "Grace", "Hana", "Hugo", "Ines", "Isaac", "Ivan", "Jana", "Javier",
    "Jin", "Johan", "Julia", "Kai", "Kavya", "Keanu", "Lars", "Layla", "Leo", "Lina", "Lucas",
    "Maya", "Mateo", "Mei", "Mia", "Nadia", "Noah", "Nora", "Olivia", "Omar", "Oscar", "Priya",
    "Rafael", "Rania", "Ravi", "Rosa", "Sakura", "Samuel", "Sara", "Sofia", "Stefan", "Tariq",
    "Thabo", "Tomas", "Uma", "Valentina", "Victor", "Wei", "Yara", "Yusuf", "Zanele", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Abara", "Adeyemi", "Alvarez", "Andersen", "Bauer", "Becker", "Bianchi", "Boyle", "Brooks",
    "Castillo", "Chen", "Costa", "Dubois", "Dvorak", "Eriksson", "Fernandes", "Fischer", "Garcia",
    "Gupta", "Haddad", "Hansen", "Hoffmann", "Ibrahim", "Ito", "Jansen", "Jovanovic", "Kaur",
    "Kim", "Kowalski", "Kumar", "Larsen", "Lopez", "Marino", "Martin", "Mendes", "Meyer",
    "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Ortiz", "Patel",
    "Petrov", "Quinn", "Rao", "Reyes", "Rossi", "Sato", "Schmidt", "Silva", "Singh", "Sokolov",
    "Suzuki", "Tanaka", "Torres", "Varga", "Wagner", "Walsh", "Wang", "Weber", "Yamamoto", "Zhang",
    "O'Brien", "Müller", "Søndergaard", "Nuñez", "Zieliński",
)  # fmt: skip
COMPANY_FIRST = (
    "Acme", "Apex", "Aurora", "Beacon", "Blue Harbor", "Brightline", "Cascade", "Cedar",
    "Copper", "Crescent", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Horizon", "Iron",
    "Juniper", "Keystone", "Lakeside", "Lumen", "Maple", "Meridian", "Nimbus", "Northwind",
    "Oakridge", "Orbit", "Pacific", "Pinnacle", "Polar", "Quartz", "Redwood", "Riverbend",
    "Sable", "Silverline", "Summit", "Sunrise", "Tidewater", "Trident", "Vertex", "Willow",
    "Zenith",
)  # fmt: skip
COMPANY_SECOND = (
    "Analytics", "Builders", "Capital", "Consulting", "Dynamics", "Energy", "Foods", "Health",
    "Industries", "Labs", "Logistics", "Media", "Motors", "Networks", "Partners", "Robotics",
    "Software", "Solar", "Systems", "Textiles", "Travel", "Ventures",
)  # fmt: skip
COMPANY_SUFFIX = ("Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Corp.", "Pty Ltd", "B.V.", "")
CITIES = (
    ("San Francisco", "CA", "94105", "United States"),
    ("Austin", "TX", "73301", "United States"),
    ("Seattle", "WA", "98101", "United States"),
    ("New York", "NY", "10001", "United States"),
    ("Chicago", "IL", "60601", "United States"),
    ("Toronto", "ON", "M5H 2N2", "Canada"),
    ("London", "England", "EC1A 1BB", "United Kingdom"),
    ("Berlin", "Berlin", "10115", "Germany"),
    ("Paris", "Île-de-France", "75001", "France"),
    ("Madrid", "Madrid", "28001", "Spain"),
    ("Chennai", "Tamil Nadu", "600001", "India"),
    ("Bengaluru", "Karnataka", "560001", "India"),
    ("Sydney", "NSW", "2000", "Australia"),
    ("Tokyo", "Tokyo", "100-0001", "Japan"),
    ("São Paulo", "SP", "01000-000", "Brazil"),
    ("Lagos", "Lagos", "100001", "Nigeria"),
    ("Nairobi", "Nairobi", "00100", "Kenya"),
    ("Dubai", "Dubai", "00000", "United Arab Emirates"),
)
STREETS = (
    "Market Street", "Main Street", "Oak Avenue", "Harbor Road", "King Street", "Park Lane",
    "Station Road", "Mill Road", "High Street", "Elm Drive", "Lake View", "Church Street",
)  # fmt: skip
TITLES = (
    "CEO", "CTO", "CFO", "VP Sales", "Head of IT", "Operations Manager", "Purchasing Manager",
    "Sales Director", "Procurement Lead", "Facilities Manager", "Engineer", "Analyst",
)  # fmt: skip
DEPARTMENTS = ("Sales", "Finance", "IT", "Operations", "Procurement", "Marketing", "Legal")
WORDS = (
    "account", "agenda", "budget", "call", "contract", "customer", "delivery", "demo", "detail",
    "discount", "follow", "forecast", "install", "invoice", "meeting", "onboarding", "order",
    "pilot", "plan", "price", "proposal", "quote", "renewal", "review", "roadmap", "schedule",
    "service", "shipment", "signature", "site", "support", "team", "timeline", "trial", "update",
    "upgrade", "visit", "warranty", "workshop",
)  # fmt: skip
PRODUCT_ADJ = ("Smart", "Ultra", "Eco", "Pro", "Compact", "Rapid", "Quantum", "Nano", "Prime")
PRODUCT_NOUN = (
    "Router", "Panel", "Inverter", "Sensor", "Battery", "Gateway", "Camera", "Controller",
    "Charger", "Switch", "Module", "Thermostat",
)  # fmt: skip
DEAL_KINDS = ("Renewal", "Expansion", "New Logo", "Upsell", "Pilot", "Migration", "Support Plan")
TASK_VERBS = ("Call", "Email", "Send quote to", "Prepare demo for", "Review contract with")
MEETINGS = ("Kick-off", "Demo", "QBR", "Site survey", "Negotiation", "Workshop")
CAMPAIGN_WORDS = ("Spring", "Summer", "Autumn", "Winter", "Launch", "Partner", "Webinar")
CHANNELS = ("Email Blast", "Trade Show", "Webinar Series", "Direct Mail", "Social Ads")
ISSUES = (
    "Login failure", "Slow sync", "Billing question", "Broken panel", "Firmware update",
    "Missing invoice", "Data export",
)  # fmt: skip
TAGS = ("vip", "hot", "renewal", "partner", "at-risk", "webinar", "priority")
TAG_COLOURS = ("#57B1FD", "#F48435", "#63C57E", "#E7A826", "#A8C4E0", "#B88562", "#F17574")
CONTACT_ROLES = (
    "Purchasing",
    "Evaluator",
    "Decision Maker",
    "Technical Buyer",
    "Executive Sponsor",
    "Influencer",
    "Developer/Evaluator",
    "Other",
)
MEMBER_STATUSES = (
    "Planned",
    "Invited",
    "Sent",
    "Received",
    "Opened",
    "Responded",
    "Bounced",
    "Opted Out",
)
TERRITORIES = ("West", "East", "EMEA", "APAC", "LATAM")
