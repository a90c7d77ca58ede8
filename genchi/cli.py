"""The `genchi` console command: Django's management commands plus Genchi's own."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genchi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["genchi", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
