//go:build linux

package media

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// A minimal io_uring (Linux 5.3 and later), set up with raw system calls and mmap
// because the project uses nothing outside the standard library for it: a submission
// ring the clock shard fills with one entry per packet, one io_uring_enter that hands
// them all to the kernel, and a completion ring read back in the same tick. Batched
// sends (txbatch_linux.go) and batched receives (rxbatch_linux.go) each own one per
// shard; only the shard's goroutine touches a ring.

const (
	sysIOURingSetup    = 425
	sysIOURingEnter    = 426
	sysIOURingRegister = 427

	ioringOpSendmsg      = 9
	ioringOpRecvmsg      = 10
	ioringOpSend         = 26
	ioringEnterGetEvents = 1
	ioringSetupSubmitAll = 1 << 7
	ioringOffSQRing      = 0
	ioringOffCQRing      = 0x8000000
	ioringOffSQEs        = 0x10000000

	// ringEntries is the most packets one io_uring_enter moves; a shard with more
	// calls submits several times per tick.
	ringEntries = 1024
	// maxTransient is how many transient io_uring_enter errors (EINTR, EAGAIN, EBUSY)
	// one batch retries before it gives the ring up: the clock goroutine must not spin.
	maxTransient = 100
)

// ioURingParams is struct io_uring_params.
type ioURingParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// ioURingSQE is struct io_uring_sqe (64 bytes), with the fields SENDMSG and RECVMSG use.
type ioURingSQE struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64 // the struct msghdr
	len      uint32
	msgFlags uint32
	userData uint64 // the index of the packet in the batch's queue
	bufGroup uint16 // with IOSQE_BUFFER_SELECT: the provided-buffer ring to read into
	_        uint16
	addrLen  uint16 // SEND: the length of the destination at off (addr2)
	_        uint16
	_        [2]uint64
}

// ioURingCQE is struct io_uring_cqe.
type ioURingCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// uring is one io_uring's mappings and the pointers into them.
type uring struct {
	fd     int
	sqMem  []byte
	cqMem  []byte
	sqeMem []byte

	sqTail, sqMask *uint32
	sqFlags        *uint32 // IORING_SQ_TASKRUN and friends, written by the kernel
	sqArray        []uint32
	sqes           []ioURingSQE
	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []ioURingCQE
	entries        int // submission ring size
}

// setup creates the ring with room for entries submissions (a power of two) and maps
// it. On failure nothing stays open.
func (r *uring) setup(entries uint32) error {
	err := r.setupWith(entries, 0, ioringSetupSubmitAll)
	if errors.Is(err, syscall.EINVAL) { // before Linux 5.18: no IORING_SETUP_SUBMIT_ALL
		err = r.setupWith(entries, 0, 0)
	}
	return err
}

// setupWith creates the ring with the given setup flags (cqEntries is the completion
// ring's size when flags hold ioringSetupCQSize) and maps it. On failure nothing stays
// open.
func (r *uring) setupWith(entries, cqEntries, flags uint32) error {
	r.fd = -1
	p := ioURingParams{flags: flags, cqEntries: cqEntries}
	fd, _, errno := syscall.Syscall(sysIOURingSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return fmt.Errorf("media: io_uring_setup: %w", errno)
	}
	r.fd = int(fd)
	mmap := func(off int64, size uint32) ([]byte, error) {
		mem, err := syscall.Mmap(r.fd, off, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
		if err != nil {
			return nil, fmt.Errorf("media: mapping the io_uring: %w", err)
		}
		return mem, nil
	}
	var err error
	if r.sqMem, err = mmap(ioringOffSQRing, p.sqOff.array+p.sqEntries*4); err != nil {
		r.close()
		return err
	}
	if r.cqMem, err = mmap(ioringOffCQRing, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(ioURingCQE{}))); err != nil {
		r.close()
		return err
	}
	if r.sqeMem, err = mmap(ioringOffSQEs, p.sqEntries*uint32(unsafe.Sizeof(ioURingSQE{}))); err != nil {
		r.close()
		return err
	}
	sq, cq := unsafe.Pointer(&r.sqMem[0]), unsafe.Pointer(&r.cqMem[0])
	r.sqTail = (*uint32)(unsafe.Add(sq, p.sqOff.tail))
	r.sqMask = (*uint32)(unsafe.Add(sq, p.sqOff.ringMask))
	r.sqFlags = (*uint32)(unsafe.Add(sq, p.sqOff.flags))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(sq, p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*ioURingSQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(cq, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(cq, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(cq, p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*ioURingCQE)(unsafe.Add(cq, p.cqOff.cqes)), p.cqEntries)
	r.entries = int(p.sqEntries)
	return nil
}

// push appends an entry to the submission ring; the caller keeps count so that no more
// than entries are pushed between two enters.
func (r *uring) push(e ioURingSQE) {
	tail := atomic.LoadUint32(r.sqTail)
	idx := tail & *r.sqMask
	r.sqes[idx] = e
	r.sqArray[idx] = idx
	atomic.StoreUint32(r.sqTail, tail+1)
}

// getEvents submits n entries and runs the ring's deferred work (a DEFER_TASKRUN ring
// does its reads only here) without waiting for a completion.
func (r *uring) getEvents(n int) (int, syscall.Errno) {
	got, _, errno := syscall.Syscall6(sysIOURingEnter, uintptr(r.fd), uintptr(n), 0, ioringEnterGetEvents, 0, 0)
	return int(got), errno
}

// enter submits n entries and, with wait, waits for at least one completion.
func (r *uring) enter(n int, wait bool) (int, syscall.Errno) {
	flags, min := uintptr(0), uintptr(0)
	if wait {
		flags, min = ioringEnterGetEvents, 1
	}
	got, _, errno := syscall.Syscall6(sysIOURingEnter, uintptr(r.fd), uintptr(n), min, flags, 0, 0)
	return int(got), errno
}

// transient reports an io_uring_enter error worth retrying: interrupted, short of
// memory for a moment, or completions to reap first.
func transient(errno syscall.Errno) bool {
	return errno == syscall.EINTR || errno == syscall.EAGAIN || errno == syscall.EBUSY
}

// reap hands every completion in the ring to fn and consumes them; it returns how
// many there were.
func (r *uring) reap(fn func(c *ioURingCQE)) int {
	head, tail := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail; head++ {
		fn(&r.cqes[head&r.cqMask])
		n++
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

// close releases the ring. Only after its shard stopped using it.
func (r *uring) close() {
	for _, mem := range [][]byte{r.sqeMem, r.cqMem, r.sqMem} {
		if mem != nil {
			syscall.Munmap(mem)
		}
	}
	r.sqeMem, r.cqMem, r.sqMem = nil, nil, nil
	if r.fd >= 0 {
		syscall.Close(r.fd)
		r.fd = -1
	}
}
