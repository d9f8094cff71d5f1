package ivr

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/media/audio"
)

// fileCache keeps WAV prompts decoded and resampled per call rate, so a file is read
// from disk once per flow version and rate, not once per call.
type fileCache struct {
	mu    sync.Mutex
	items map[string][]int16
}

func newFileCache() *fileCache { return &fileCache{items: make(map[string][]int16)} }

func (fc *fileCache) load(f *flows.Flow, path string, rate int) ([]int16, error) {
	key := f.Name + "\x00" + f.Version + "\x00" + path + "\x00" + strconv.Itoa(rate)
	fc.mu.Lock()
	pcm, ok := fc.items[key]
	fc.mu.Unlock()
	if ok {
		return pcm, nil
	}
	file, err := f.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open prompt %s: %w", path, err)
	}
	defer file.Close()
	pcm, fileRate, err := audio.ReadWAV(file)
	if err != nil {
		return nil, fmt.Errorf("read prompt %s: %w", path, err)
	}
	if fileRate != rate {
		if pcm, err = audio.Resample(pcm, fileRate, rate); err != nil {
			return nil, fmt.Errorf("resample prompt %s from %d Hz: %w", path, fileRate, err)
		}
	}
	fc.mu.Lock()
	fc.items[key] = pcm
	fc.mu.Unlock()
	return pcm, nil
}
