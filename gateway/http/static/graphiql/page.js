// Starts GraphiQL on the gateway's page. Per-page settings come from the JSON element
// #omnify-graphiql-config (the page's Content-Security-Policy allows no inline script).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("omnify-graphiql-config").textContent);
  var h = React.createElement;

  function cookie(name) {
    var prefix = name + "=";
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf(prefix) === 0; })[0];
    return found ? decodeURIComponent(found.slice(prefix.length)) : null;
  }

  function header(headers, name) {
    var key = Object.keys(headers).filter(function (k) { return k.toLowerCase() === name; })[0];
    return key ? String(headers[key]) : "";
  }

  // One fetcher per Authorization value from the Headers tab: the HTTP requests carry the
  // header, and the subscription socket sends it in its connection_init payload (a browser
  // cannot set headers on a WebSocket). Without one, the session cookie authenticates both.
  var fetchers = {};
  function fetcherFor(authorization) {
    if (!fetchers[authorization]) {
      var wsClient = graphqlWs.createClient({
        url: config.subscriptionUrl,
        lazy: true,
        // A bearer goes in the payload; a cookie session proves the page with its CSRF token instead.
        connectionParams: function () {
          if (authorization) return { Authorization: authorization };
          var csrf = cookie(config.csrfCookie);
          var params = {};
          if (csrf) params[config.csrfPayloadKey] = csrf;
          return params;
        },
      });
      fetchers[authorization] = GraphiQL.createFetcher({ url: config.url, wsClient: wsClient });
    }
    return fetchers[authorization];
  }

  function fetcher(params, options) {
    var headers = Object.assign({}, (options && options.headers) || {});
    // A session-cookie request must prove it comes from this page.
    var csrf = cookie(config.csrfCookie);
    if (csrf && !header(headers, config.csrfHeader.toLowerCase())) headers[config.csrfHeader] = csrf;
    return fetcherFor(header(headers, "authorization"))(params, Object.assign({}, options, { headers: headers }));
  }

  function queryName(query) {
    var match = /query\s+(\w+)/.exec(query);
    return match ? match[1] : "example";
  }

  function ExamplesPanel() {
    var editors = GraphiQL.React.useEditorContext({ nonNull: true });
    return h("div", { className: "omnify-examples" },
      h("div", { className: "graphiql-doc-explorer-title" }, "Examples"),
      h("p", null, "The analyst queries from docs/queries.md, with the last 30 days as variables."),
      h("ul", null, config.tabs.map(function (tab) {
        var name = queryName(tab.query);
        return h("li", { key: name },
          h("button", {
            type: "button",
            "data-example": name,
            onClick: function () {
              editors.addTab();
              // The new tab is active once React has rendered it.
              setTimeout(function () {
                editors.queryEditor && editors.queryEditor.setValue(tab.query);
                editors.variableEditor && editors.variableEditor.setValue(tab.variables);
              }, 0);
            },
          }, name));
      })));
  }

  function ExamplesIcon() {
    return h("svg", { viewBox: "0 0 24 24", fill: "none", stroke: "currentColor", strokeWidth: 1.5 },
      h("path", { d: "M4 5h16M4 12h16M4 19h10" }));
  }

  // GraphiQL 3 opens its first default tab with that tab's query but an empty variables
  // editor (it falls back to the first tab for the query only), so a first Run fails for
  // want of variables. Once the editor exists, give the open tab the variables it holds.
  function OpenTabVariables() {
    var editors = GraphiQL.React.useEditorContext({ nonNull: true });
    var variableEditor = editors.variableEditor;
    React.useEffect(function () {
      var tab = editors.tabs[editors.activeTabIndex];
      if (variableEditor && !variableEditor.getValue() && tab && tab.variables) {
        variableEditor.setValue(tab.variables);
      }
    }, [variableEditor]);
    return null;
  }

  var examplesPlugin = { title: "Examples", icon: ExamplesIcon, content: ExamplesPanel };
  var explorerPlugin = GraphiQLPluginExplorer.explorerPlugin();

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    h(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorerPlugin, examplesPlugin],
      defaultTabs: config.tabs,
      shouldPersistHeaders: false,
    }, h(GraphiQL.Footer, null, h(OpenTabVariables)))
  );
})();
