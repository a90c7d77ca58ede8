"""What the vault raises when data cannot be read."""


class DecryptionFailed(Exception):
    """The ciphertext was altered, is bound to another row, purpose or scope, names a key
    that does not exist, or is not one of Genchi's formats."""


class KeyUnavailable(Exception):
    """The data key is destroyed (crypto-erased) or cannot be unwrapped: the data reads as
    erased."""
