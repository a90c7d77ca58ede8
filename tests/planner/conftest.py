from tests.transfer.conftest import keys_exchanged, sealed_batch  # noqa: F401 - fixtures
