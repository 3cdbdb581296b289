"""`python -m cordon` runs the command-line interface."""

from cordon.cli import main

if __name__ == "__main__":
    main()
