"""Names for demo catalogs: `load_demo_catalog`, and the bench's reference design, which
loads the same shape of catalog (this module imports no models, so either can use it)."""

CATEGORIES = [
    "Books",
    "Electronics",
    "Garden",
    "Kitchen",
    "Music",
    "Outdoors",
    "Sports",
    "Toys",
    "Clothing",
    "Beauty",
]
ADJECTIVES = [
    "Classic",
    "Compact",
    "Deluxe",
    "Eco",
    "Handmade",
    "Pro",
    "Smart",
    "Travel",
    "Vintage",
    "Wireless",
]
