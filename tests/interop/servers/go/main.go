// The interop contract (../../README.md) on Go's net/http and gorilla/websocket,
// built offline from Debian's golang-go and golang-github-gorilla-websocket-dev
// (tools/ensure-interop.sh):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o go-server .
//	go-server -listen 127.0.0.1:PORT -contract tests/interop/contract.json
//
// net/http answers an HTTP/1.1 request without Host with 400, and gorilla's
// Upgrader refuses (403) a handshake whose Origin is not the Host's.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

type contract struct {
	Paths map[string]string `json:"paths"`
	SSE   struct {
		Defaults struct {
			Count, Interval, Size int
			Eol                   string
		} `json:"defaults"`
		Eols             map[string]string `json:"eols"`
		HelloEvent       string            `json:"hello_event"`
		HeartbeatComment string            `json:"heartbeat_comment"`
	} `json:"sse"`
	WS struct {
		Subprotocols []string `json:"subprotocols"`
		CloseCommand string   `json:"close_command"`
		MaxMessage   int64    `json:"max_message"`
	} `json:"ws"`
}

var (
	c        contract
	closesMu sync.Mutex
	closes   = []map[string]interface{}{}
)

func record(r *http.Request, extra map[string]interface{}) map[string]interface{} {
	headers := map[string]string{"host": r.Host} // net/http moves Host out of r.Header
	for name, values := range r.Header {
		headers[strings.ToLower(name)] = strings.Join(values, ", ")
	}
	out := map[string]interface{}{"server": "go", "path": r.URL.Path, "query": r.URL.RawQuery, "headers": headers}
	for key, value := range extra {
		out[key] = value
	}
	return out
}

func option(r *http.Request, name string, fallback int) int {
	if value, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil {
		return value
	}
	return fallback
}

func writeJSON(w http.ResponseWriter, value interface{}) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(value)
}

func sse(w http.ResponseWriter, r *http.Request) {
	d := c.SSE.Defaults
	eol, ok := c.SSE.Eols[r.URL.Query().Get("eol")]
	if !ok {
		eol = c.SSE.Eols[d.Eol]
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher := w.(http.Flusher)
	send := func(lines ...string) {
		fmt.Fprint(w, strings.Join(append(lines, ""), eol)+eol)
		flusher.Flush()
	}
	hello, _ := json.Marshal(record(r, nil))
	if retry := option(r, "retry", -1); retry >= 0 {
		send(fmt.Sprintf("retry: %d", retry), "event: "+c.SSE.HelloEvent, "data: "+string(hello))
	} else {
		send("event: "+c.SSE.HelloEvent, "data: "+string(hello))
	}
	last, _ := strconv.Atoi(r.Header.Get("Last-Event-ID"))
	interval, heartbeat := option(r, "interval", d.Interval), option(r, "heartbeat", 0)
	for number := last + 1; number <= last+option(r, "count", d.Count); number++ {
		waited := 0
		for ; heartbeat > 0 && waited+heartbeat < interval; waited += heartbeat {
			if !sleep(r, heartbeat) {
				return
			}
			fmt.Fprint(w, c.SSE.HeartbeatComment+eol)
			flusher.Flush()
		}
		if !sleep(r, interval-waited) {
			return
		}
		data, _ := json.Marshal(map[string]interface{}{"n": number, "sent": float64(time.Now().UnixNano()) / 1e9,
			"pad": strings.Repeat("x", option(r, "size", d.Size))})
		send(fmt.Sprintf("id: %d", number), "data: "+string(data))
	}
}

// sleep waits MS milliseconds, or returns false at once when the client is gone.
func sleep(r *http.Request, ms int) bool {
	select {
	case <-time.After(time.Duration(ms) * time.Millisecond):
		return true
	case <-r.Context().Done():
		return false
	}
}

func echo(w http.ResponseWriter, r *http.Request) {
	upgrader := websocket.Upgrader{Subprotocols: c.WS.Subprotocols, EnableCompression: true}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the Upgrader has answered already (400, 403)
	}
	defer conn.Close()
	conn.SetReadLimit(c.WS.MaxMessage)
	var subprotocol interface{}
	if conn.Subprotocol() != "" {
		subprotocol = conn.Subprotocol()
	}
	// gorilla does not tell which extensions it negotiated.
	conn.WriteJSON(record(r, map[string]interface{}{"subprotocol": subprotocol, "extensions": nil}))
	closedHere := false
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			if gone, ok := err.(*websocket.CloseError); ok && !closedHere {
				closesMu.Lock()
				closes = append(closes, map[string]interface{}{"code": gone.Code, "reason": gone.Text})
				closesMu.Unlock()
			}
			return
		}
		if text := string(data); kind == websocket.TextMessage && strings.HasPrefix(text, c.WS.CloseCommand) {
			parts := strings.SplitN(strings.TrimPrefix(text, c.WS.CloseCommand), ":", 2)
			code, _ := strconv.Atoi(parts[0])
			closedHere = true
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, parts[1]), time.Now().Add(time.Second))
		} else if conn.WriteMessage(kind, data) != nil {
			return
		}
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address:port to serve")
	contractFile := flag.String("contract", "contract.json", "the interop contract")
	flag.Parse()
	raw, err := os.ReadFile(*contractFile)
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc(c.Paths["headers"], func(w http.ResponseWriter, r *http.Request) { writeJSON(w, record(r, nil)) })
	http.HandleFunc(c.Paths["closes"], func(w http.ResponseWriter, r *http.Request) {
		closesMu.Lock()
		defer closesMu.Unlock()
		writeJSON(w, closes)
	})
	http.HandleFunc(c.Paths["sse"], sse)
	http.HandleFunc(c.Paths["ws"], echo)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
