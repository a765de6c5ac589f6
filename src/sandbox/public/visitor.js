// The sandbox visitor widget: starts a chat, sends what the visitor types, shows the stream.
(function () {
  'use strict';
  var log = document.getElementById('log');
  var form = document.getElementById('composer');
  var input = document.getElementById('text');
  var button = document.getElementById('send');
  var status = document.getElementById('status');
  var chat = null;
  var seen = {};

  function show(m) {
    if (seen[m.id]) return;
    seen[m.id] = true;
    var li = document.createElement('li');
    li.className = 'msg ' + m.sender;
    li.setAttribute('data-sender', m.sender);
    if (m.sender !== 'system' && m.sender !== 'visitor') {
      var who = document.createElement('span');
      who.className = 'who';
      who.textContent = m.name;
      li.appendChild(who);
    }
    li.appendChild(document.createTextNode(m.text));
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function start() {
    // /visitor/?team=T… chats with that team (each team has its own visitor page).
    var team = new URLSearchParams(location.search).get('team');
    fetch('api/chats', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(team ? { team_id: team } : {}),
    })
      .then(function (r) {
        return r.json();
      })
      .then(function (body) {
        chat = body;
        var stream = new EventSource('api/chats/' + chat.conversation_id + '/stream?token=' + chat.token);
        stream.onmessage = function (e) {
          show(JSON.parse(e.data));
        };
        stream.onopen = function () {
          status.textContent = '';
        };
        stream.onerror = function () {
          status.textContent = 'Connection lost, retrying…';
        };
        input.disabled = false;
        button.disabled = false;
        input.focus();
      })
      .catch(function () {
        status.textContent = 'Could not start a chat. Is the sandbox running?';
      });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || !chat) return;
    input.value = '';
    fetch('api/chats/' + chat.conversation_id + '/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-visitor-token': chat.token },
      body: JSON.stringify({ text: text }),
    }).then(function (r) {
      if (!r.ok) status.textContent = 'Message not sent (' + r.status + ').';
    });
  });

  start();
})();
