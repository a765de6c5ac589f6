// The sandbox visitor widget: starts (or resumes) a chat, sends what the visitor types, shows
// the stream, says when an answer is awaited or does not come, and explains an uninstalled app.
(function () {
  'use strict';
  // /visitor/?team=T… is that team's visitor page; without it, the sandbox's first team.
  var TEAM = new URLSearchParams(location.search).get('team') || '';
  var STORE = 'clickdesk-sandbox-chat' + (TEAM ? ':' + TEAM : '');
  // How long to wait for an answer before saying none came (?no_answer_s=N overrides it).
  var NO_ANSWER_MS = (Number(new URLSearchParams(location.search).get('no_answer_s')) || 10) * 1000;
  var log = document.getElementById('log');
  var form = document.getElementById('composer');
  var input = document.getElementById('text');
  var button = document.getElementById('send');
  var status = document.getElementById('status');
  var notice = document.getElementById('notice');
  var typing = document.getElementById('typing');
  var typingText = document.getElementById('typing-text');
  var chat = null;
  var stream = null;
  var seen = {};
  var noAnswerTimer = null;
  var install = null;
  var intro = document.getElementById('intro');
  var nameInput = document.getElementById('name');
  // The name this page gives ClickDesk for the visitor; a reset's new chat keeps it.
  var visitorName = '';
  // Set once an agent or ClickDesk's handover notice speaks in this chat.
  var withPeople = false;

  function setStatus(text) {
    status.textContent = text;
  }

  function showNotice(lines) {
    // An alert is announced on every change: rebuild it only when what it says changes.
    var key = JSON.stringify(lines);
    if (!notice.hidden && notice.getAttribute('data-key') === key) return;
    notice.setAttribute('data-key', key);
    notice.textContent = '';
    lines.forEach(function (line) {
      var p = document.createElement('p');
      if (line.code) {
        var code = document.createElement('code');
        code.textContent = line.code;
        p.appendChild(code);
      } else {
        p.textContent = line;
      }
      notice.appendChild(p);
    });
    notice.hidden = false;
  }

  function hideNotice() {
    notice.hidden = true;
    notice.removeAttribute('data-key');
    notice.textContent = '';
  }

  function uninstalledNotice() {
    showNotice([
      'The bot app was uninstalled from ' +
        install.team.name +
        ' (an app.uninstalled webhook). ' +
        'The app erased the team\u2019s data and ignores its chats, so no answer will come.',
      'Reinstall it with:',
      { code: install.reinstall.curl },
      'or restart the app with:',
      { code: install.reinstall.npm },
    ]);
  }

  function awaitAnswer(what) {
    // Once people have the chat (a handover, an agent), the bot is quiet by design: wait for no one.
    if (withPeople) return;
    typingText.textContent = what;
    typing.hidden = false;
    clearTimeout(noAnswerTimer);
    noAnswerTimer = setTimeout(noAnswer, NO_ANSWER_MS);
  }

  function answered() {
    clearTimeout(noAnswerTimer);
    typing.hidden = true;
    if (status.textContent === 'Sent.') setStatus('');
    if (install && install.installed) hideNotice();
  }

  function noAnswer() {
    typing.hidden = true;
    refreshStatus().then(function () {
      if (install && !install.installed) return;
      showNotice([
        'No answer after ' +
          NO_ANSWER_MS / 1000 +
          ' seconds. The bot may be stopped, busy or failing: ' +
          'the log in the terminal running npm start says which.',
      ]);
    });
  }

  function show(m) {
    if (seen[m.id]) return;
    seen[m.id] = true;
    if (m.sender === 'agent' || m.sender === 'system') withPeople = true;
    if (m.sender !== 'visitor') answered();
    var li = document.createElement('li');
    li.className = 'msg ' + m.sender;
    li.setAttribute('data-sender', m.sender);
    if (m.sender === 'bot' || m.sender === 'agent') {
      var who = document.createElement('span');
      who.className = 'who';
      who.textContent = m.sender === 'bot' ? 'Bot' : m.name + ' \u00b7 agent';
      li.appendChild(who);
    }
    li.appendChild(document.createTextNode(m.text));
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function refreshStatus() {
    return fetch('api/status' + (TEAM ? '?team=' + encodeURIComponent(TEAM) : ''))
      .then(function (r) {
        return r.json();
      })
      .then(function (s) {
        var resetSince = install && chat && s.resets !== chat.resets;
        install = s;
        if (!s.installed) uninstalledNotice();
        else if (resetSince) restart('The sandbox was reset: a new chat has started.');
      })
      .catch(function () {
        setStatus('The sandbox does not answer. Is npm start still running?');
      });
  }

  function open(saved) {
    chat = saved;
    sessionStorage.setItem(STORE, JSON.stringify(chat));
    stream = new EventSource('api/chats/' + chat.conversation_id + '/stream?token=' + chat.token);
    stream.onmessage = function (e) {
      show(JSON.parse(e.data));
    };
    stream.onopen = function () {
      if (/^(Connecting|Connection lost)/.test(status.textContent)) setStatus('');
    };
    stream.onerror = function () {
      setStatus('Connection lost, retrying…');
    };
    input.disabled = false;
    button.disabled = false;
    input.focus();
  }

  // A new chat begins with the visitor's name, as a widget's pre-chat form asks for it.
  function askName() {
    intro.hidden = false;
    setStatus('');
    nameInput.focus();
  }

  intro.addEventListener('submit', function (e) {
    e.preventDefault();
    visitorName = nameInput.value.trim();
    intro.hidden = true;
    setStatus('Connecting…');
    start();
  });

  function start(message) {
    // /visitor/?team=T… chats with that team (each team has its own visitor page).
    fetch('api/chats', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(TEAM ? { team_id: TEAM, name: visitorName } : { name: visitorName }),
    })
      .then(function (r) {
        return r.json();
      })
      .then(function (body) {
        body.resets = install ? install.resets : 0;
        open(body);
        if (message) setStatus(message);
        if (install && !install.installed) uninstalledNotice();
        else awaitAnswer('Waiting for the bot\u2019s greeting…');
      })
      .catch(function () {
        setStatus('Could not start a chat. Is the sandbox running?');
      });
  }

  function restart(message) {
    if (stream) stream.close();
    sessionStorage.removeItem(STORE);
    chat = null;
    seen = {};
    withPeople = false;
    log.textContent = '';
    answered();
    hideNotice();
    start(message);
  }

  // Coming back (a reload, or back from the privacy page) resumes the chat; its history replays.
  function resume() {
    var saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(STORE) || 'null');
    } catch (e) {
      saved = null;
    }
    if (!saved || !saved.conversation_id) return askName();
    fetch('api/chats/' + saved.conversation_id, { headers: { 'x-visitor-token': saved.token } }).then(
      function (r) {
        if (r.ok && saved.resets === install.resets) open(saved);
        else restart('Your earlier chat is gone (the sandbox was reset): a new chat has started.');
      },
      function () {
        setStatus('Could not resume the chat. Is the sandbox running?');
      },
    );
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || !chat) return;
    input.value = '';
    setStatus('Sending…');
    fetch('api/chats/' + chat.conversation_id + '/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-visitor-token': chat.token },
      body: JSON.stringify({ text: text }),
    }).then(
      function (r) {
        if (r.status === 410)
          return restart('That chat is gone (the sandbox was reset): a new one has started.');
        if (!r.ok) return setStatus('Message not sent (' + r.status + ').');
        setStatus('Sent.');
        if (install && !install.installed) uninstalledNotice();
        else awaitAnswer('The bot is typing…');
      },
      function () {
        setStatus('Message not sent: the sandbox does not answer.');
      },
    );
  });

  refreshStatus().then(function () {
    if (!install) return;
    resume();
    // An uninstall or a reset made elsewhere (curl, another tab) shows up within seconds.
    setInterval(refreshStatus, 3000);
  });
})();
