"""What many test folders share: books to test on (`books.py`, fixtures loaded by the root conftest) and signing in
over HTTP or in a browser (`signin.py`)."""
