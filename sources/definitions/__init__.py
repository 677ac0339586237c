"""The webhook sources this install defines, one module each (discovered at start-up).

Add your own as one more module here (or in a package listed in
SOURCE_PACKAGES): call `define_source(id=..., auth=..., transform=...)` and set
the secret its auth names in the environment.
"""
