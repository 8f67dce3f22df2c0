"""The glue between stations, in one place: an agent's output offered to a person (`offers.py`), placed by its level
(`placement.py`: L4 waits for a person, L5 is carried out within policy), a person's decision taken and carried out
(`decisions.py`), and an outcome stored and learnt from (`outcomes.py`). Commands and views call one function
here; the stations below know nothing of each other's sequence."""
