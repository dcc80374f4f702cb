"""``python -m nncli`` does exactly what the ``nncli`` console script does."""

from nncli.cli import main

if __name__ == "__main__":
    main()
