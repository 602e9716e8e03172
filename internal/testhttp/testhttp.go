// Package testhttp is the tests' one way to send a request to a JSON API
// and read the answer whole.
package testhttp

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// JSON sends req with http.DefaultClient and returns the status, the body
// decoded as a JSON object (nil when it is not one) and the body as sent.
// A request that gets no response fails t.
func JSON(t testing.TB, req *http.Request) (int, map[string]any, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return resp.StatusCode, m, string(body)
}
