//! Test helpers: running Python's standard `xmlrpc.client` as an independent implementation.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// Runs `python3 -c script` with `stdin`, returning stdout; panics (test failure) with stderr if
/// Python exits non-zero.
pub(crate) fn python(script: &str, stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed for the interoperability tests");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("python3 ran");
    assert!(
        out.status.success(),
        "python failed: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The body Python's `xmlrpc.client.dumps` produces for `method` with the Python tuple
/// expression `params` (the names `x` = `xmlrpc.client` and `B` = `x.Binary` are in scope).
pub(crate) fn python_dumps(params: &str, method: &str) -> Vec<u8> {
    let script = format!(
        "import sys, datetime, xmlrpc.client as x\nB = x.Binary\n\
         sys.stdout.write(x.dumps({params}, {method:?}, allow_none=True))"
    );
    python(&script, b"")
}

/// Asserts that Python's `xmlrpc.client.loads` reads `body` as a response equal to the Python
/// expression `expected` (for a fault: `Fault(code, text)`).
pub(crate) fn assert_python_loads(body: &[u8], expected: &str) {
    let script = format!(
        "import sys, datetime, xmlrpc.client as x\nB = x.Binary\n\
         def Fault(c, s): return ('fault', c, s)\n\
         data = sys.stdin.buffer.read().decode()\n\
         try:\n    got = x.loads(data, use_builtin_types=False)[0][0]\n\
         except x.Fault as f:\n    got = ('fault', f.faultCode, f.faultString)\n\
         want = {expected}\n\
         assert got == want, f'got {{got!r}} want {{want!r}}'\nprint('ok')"
    );
    assert_eq!(python(&script, body), b"ok\n");
}
