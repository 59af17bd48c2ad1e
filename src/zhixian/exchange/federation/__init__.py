"""Federation of zhixian nodes (上下贯通): a county node registers with a city node, publishes its catalogue
upward, forwards its departments' sharing requests and gateway calls, and receives grants back (数据回流).

Every node-to-node message is signed with the sender's node key (``keys``) and checked against the key the
receiver pinned at registration (``protocol``); what crossed is logged, and what could not be delivered waits
in the same table until the peer answers (``transport``).
"""
