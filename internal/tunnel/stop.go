package tunnel

import "sync"

// Tunnels that share a Stop channel (every tunnel of one named credential,
// say) share one goroutine waiting on it, so an idle tunnel costs no
// goroutine for its Stop. The goroutine exits when its last tunnel ends.
var stopWatchers struct {
	mu     sync.Mutex
	groups map[<-chan struct{}]*stopGroup
}

// stopGroup is the tunnels waiting on one Stop channel.
type stopGroup struct {
	members map[*tunnel]struct{} // guarded by stopWatchers.mu
	quit    chan struct{}        // closed when the group empties first
}

// watchStop makes t end with ReasonStopped once stop is closed; the caller
// must call unwatchStop when t has ended.
func watchStop(stop <-chan struct{}, t *tunnel) {
	stopWatchers.mu.Lock()
	defer stopWatchers.mu.Unlock()
	if stopWatchers.groups == nil {
		stopWatchers.groups = make(map[<-chan struct{}]*stopGroup)
	}
	g := stopWatchers.groups[stop]
	if g == nil {
		g = &stopGroup{members: make(map[*tunnel]struct{}), quit: make(chan struct{})}
		stopWatchers.groups[stop] = g
		go g.wait(stop)
	}
	g.members[t] = struct{}{}
}

func unwatchStop(stop <-chan struct{}, t *tunnel) {
	stopWatchers.mu.Lock()
	defer stopWatchers.mu.Unlock()
	g := stopWatchers.groups[stop]
	if g == nil {
		return // stop fired; its goroutine took the group out of the map
	}
	delete(g.members, t)
	if len(g.members) == 0 {
		delete(stopWatchers.groups, stop)
		close(g.quit)
	}
}

func (g *stopGroup) wait(stop <-chan struct{}) {
	select {
	case <-g.quit:
		return
	case <-stop:
	}
	stopWatchers.mu.Lock()
	if stopWatchers.groups[stop] == g {
		delete(stopWatchers.groups, stop)
	}
	// After removal no one else touches members: registrations for this
	// channel start a new group, whose goroutine sees stop closed at once.
	members := g.members
	g.members = nil
	stopWatchers.mu.Unlock()
	for t := range members {
		t.end(ReasonStopped, nil)
	}
}
