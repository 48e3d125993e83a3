package upstream

import "golang.org/x/sys/unix"

// pollRDHUP reports the peer's FIN apart from readable data.
const pollRDHUP = unix.POLLRDHUP
