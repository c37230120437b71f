"""The dashboard: a server-rendered shell at `/` and small vanilla JS modules that call the JSON
API under `/api/v1` with the bearer token kept in sessionStorage. Every asset ships in this
package; nothing is built on the user's machine or loaded from another host."""
