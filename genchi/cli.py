"""The `genchi` console command: Django's management commands plus Genchi's own."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["version"]):
        # Django's own --version would print Django's version, not ours.
        import django

        from genchi import __version__

        print(
            f"Genchi {__version__} (Django {django.get_version()}, Python {sys.version.split()[0]})"
        )
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genchi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["genchi", *args])


if __name__ == "__main__":
    main()
