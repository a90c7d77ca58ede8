from tests.transfer.conftest import keys_exchanged  # noqa: F401 - fixtures
