"""`python -m aircore_mock`."""

# Guarded: worker processes (multiprocessing's spawn) import the main module again.
if __name__ == "__main__":
    from aircore_mock._entry import main

    main()
