from tests.transfer.conftest import exported, keys_exchanged, sealed_batch  # noqa: F401
