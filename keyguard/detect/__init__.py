"""Detection: ``ScanText`` in, ``Finding`` out.

``prefilter`` finds the rules' keywords (and gates raw bytes before decoding), ``engine`` runs
each rule's regex only in windows around them (``context``), ``hyperscan`` narrows those windows
when the Hyperscan wheel is there, ``base64`` decodes runs that may hold a key, ``judge`` drops
placeholders, allow-marked lines and low-entropy matches, ``generic`` is the opt-in
detect-secrets pack.
"""
