package registrar

import "container/heap"

// slot is a binding as Memory stores it: its position in the expiry heap travels with
// it, so a refresh or removal fixes the heap in O(log n) instead of leaving a stale
// entry behind.
type slot struct {
	b     Binding
	index int // in expiryHeap; -1 once out of it
}

// expiryHeap orders every binding of every AOR by expiry, earliest first.
type expiryHeap []*slot

var _ heap.Interface = (*expiryHeap)(nil)

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].b.Expires.Before(h[j].b.Expires) }

func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *expiryHeap) Push(x any) {
	s := x.(*slot)
	s.index = len(*h)
	*h = append(*h, s)
}

func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old)
	s := old[n-1]
	old[n-1] = nil
	s.index = -1
	*h = old[:n-1]
	return s
}

// peek is the earliest-expiring slot, nil when empty.
func (h expiryHeap) peek() *slot {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}
