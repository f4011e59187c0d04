"""``python -m gradgames`` is the ``gradgames`` command (and what torchrun launches)."""

from gradgames.cli import main

if __name__ == "__main__":
    main()
