"""telnyx-analytics: Telnyx reporting data as tidy pandas DataFrames.

>>> import telnyx_analytics as tx
>>> tx.__version__
'0.1.0'
"""

__version__ = "0.1.0"
