"""示例扩展 (hello): a third-party subsystem that shows every part of the zhixian extension contract.

The declaration is in ``subsystem.py`` (the entry point); rules in ``service.py``; thin routes in ``api.py``
and ``pages.py``. Importing ``zhixian_hello.service`` loads no web framework.
"""
