"""Confining a child process to a few folders with Linux Landlock, where the kernel offers it."""
from __future__ import annotations

import ctypes
import os
import signal
import struct
import sys

# Linux's generic syscall numbers (the same on every architecture since 5.13).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_GET_ABI_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_REFER, _TRUNCATE = 1 << 13, 1 << 14
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE  # the only rights a rule on a file may carry


def _all_rights(abi: int) -> int:
    """Every filesystem right this kernel's Landlock knows about (ABI 1: 13 rights; 2 adds refer, 3 truncate)."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    return rights


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        return libc
    except (OSError, AttributeError):
        return None


def available() -> bool:
    """Whether this kernel enforces Landlock (Linux 5.13 or later, with Landlock switched on)."""
    libc = _libc()
    return bool(libc) and libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_GET_ABI_VERSION)) >= 1


def confine(read_only: list, read_write: list):
    """A function for Popen's preexec_fn that confines the child to these paths (None off Linux).

    Reading and running programs is allowed beneath `read_only`; everything (writing, making and
    removing files) beneath `read_write`; nothing elsewhere. The child also dies with its parent.
    The rule set is built here, in the parent; the child only switches it on, so that nothing
    between fork and exec allocates. Without Landlock, only the second part applies
    (the function's `confined` attribute says which).
    """
    libc = _libc()
    if libc is None:
        return None
    abi = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_GET_ABI_VERSION))
    ruleset = -1
    if abi >= 1:
        handled = _all_rights(abi)
        attr = ctypes.create_string_buffer(struct.pack("=Q", handled))
        ruleset = libc.syscall(_CREATE_RULESET, attr, ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset >= 0:
        reading = _EXECUTE | _READ_FILE | _READ_DIR
        try:
            for paths, rights in ((read_only, reading), (read_write, handled)):
                for path in paths:
                    _add(libc, ruleset, str(path), rights)
        except BaseException:
            os.close(ruleset)
            raise
    syscall, prctl = libc.syscall, libc.prctl

    def switch_on():
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if ruleset >= 0:
            if prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or syscall(_RESTRICT_SELF, ruleset, 0) != 0:
                raise OSError(ctypes.get_errno(), "cannot confine the child process")
            os.close(ruleset)

    switch_on.ruleset = ruleset
    switch_on.confined = ruleset >= 0
    return switch_on


def release(preexec) -> None:
    """Close the parent's copy of a rule set made by confine (after the child has started)."""
    if preexec is not None and preexec.ruleset >= 0:
        try:
            os.close(preexec.ruleset)
        except OSError:
            pass


def _add(libc, ruleset: int, path: str, rights: int) -> None:
    """Allow `rights` beneath path; a path that does not exist is skipped."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        # struct landlock_path_beneath_attr is packed: u64 allowed_access, s32 parent_fd
        attr = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd))
        if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, attr, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"cannot allow {path}: {os.strerror(err)}")
    finally:
        os.close(fd)
