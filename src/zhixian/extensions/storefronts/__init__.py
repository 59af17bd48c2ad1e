"""商铺店面 (storefronts): shops, 门前三包 zones, and cases linked to shops — an optional extension.

It adds its case classes, intake channel and case hook through typed ``Subsystem`` fields; the core never
imports it.
"""
