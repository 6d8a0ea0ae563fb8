"""Ray Data glue: reading tables as streams (`read.py`), the streaming statistics of the
evaluate job (`stats.py`), and the streaming sample job: which rows each part file holds
(`plan.py`), writing whole files (`files.py`), the Ray Data actors that fill a prefix with parts
(`parts.py`) and the image side of it (`image_parts.py`)."""
