"""政务数据共享交换: sharing requests → approval → grants, applications with HMAC-SM3 credentials, a masked
gateway API with one audit record per call, and usage transparency. The Subsystem is in ``subsystem``."""
