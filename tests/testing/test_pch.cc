// Builds the tests precompiled header (test_pch.h); no code of its own.
