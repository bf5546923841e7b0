"""Reporting stage: the study's tables and figures (Table 3, Fig. 1, Tables 4-6, the protocol
comparison, training curves) and the table writers. May import every earlier stage."""
