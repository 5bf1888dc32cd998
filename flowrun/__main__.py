"""``python -m flowrun``: the same as the ``flowrun`` command."""
from flowrun.cli.main import main

if __name__ == "__main__":
    main()
