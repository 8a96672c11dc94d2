/*
 * chat.js -- the chatseal demo chat client.
 *
 * The conversation lives in this browser, as in the ragbits seed client: the
 * message list and the token the gateway returned are kept in localStorage and
 * sent back with the next message (history in the body, token in the
 * Chatseal-Token header, a per-conversation random id in Chatseal-Conversation,
 * which the gateway binds into the token).  The gateway verifies the history
 * before the model sees it and signs its reply.  The page speaks any of the
 * gateway's APIs (Chat Completions, Responses, Anthropic Messages, Ollama;
 * chosen in Settings, one per conversation); apis.js holds what differs
 * between them: the request body, the stream format, and which reply entries
 * join the history (for Chat Completions the exact message the gateway
 * reports as signed, "chatseal.message", never one rebuilt from the streamed
 * deltas, because a rebuilt object could differ by a field and then would
 * not verify).
 *
 * Besides the working copy the page keeps a snapshot of the last history and
 * token the gateway signed.  It is only used to show what was changed in this
 * browser and to undo a demonstration; it has no security role (the browser
 * cannot verify a signature, only the gateway can, and the page says so).
 *
 * The tamper panel edits the working copy exactly as an attacker with access
 * to localStorage (or devtools) could.  Everything the page renders that came
 * from storage or the network goes through textContent, never innerHTML.
 */
(() => {
    'use strict';

    const KEY = 'chatseal.';
    const explain = window.ChatsealExplain.explain;
    const Apis = window.ChatsealApis;

    const $ = (id) => document.getElementById(id);
    const el = {
        banner: $('seal-banner'), bannerText: $('seal-summary'),
        emptyHint: $('empty-hint'), messages: $('messages'),
        rejection: $('rejection'), rejKind: $('rejection-kind'),
        rejTitle: $('rejection-title'), rejCode: $('rejection-code'),
        rejExplain: $('rejection-explain'), rejMessage: $('rejection-message'),
        rejWhere: $('rejection-where'),
        rejStatus: $('rejection-status'), rejHint: $('rejection-hint'),
        rejRestore: $('rejection-restore'), rejNew: $('rejection-new'),
        composer: $('composer'), input: $('composer-input'), send: $('send'),
        status: $('status'),
        integrityText: $('integrity-text'),
        factCount: $('fact-count'), factStored: $('fact-stored'),
        factKid: $('fact-kid'), factConv: $('fact-conversation'),
        factBound: $('fact-bound'), factIat: $('fact-iat'),
        factExp: $('fact-exp'), factToken: $('fact-token'),
        tamperState: $('tamper-state'), tamperRestore: $('tamper-restore'),
        editIndex: $('edit-index'), editRole: $('edit-role'),
        editContent: $('edit-content'), deleteIndex: $('delete-index'),
        swapA: $('swap-a'), swapB: $('swap-b'), appendContent: $('append-content'),
        tokenInput: $('token-input'), tokenPrevious: $('token-previous'),
        tokenRemove: $('token-remove'),
        verifyCommand: $('verify-command'), copyCommand: $('copy-command'),
        exportApiNote: $('export-api-note'),
        model: $('setting-model'), stream: $('setting-stream'), api: $('setting-api'),
        factApi: $('fact-api'),
    };

    /* ---- storage ------------------------------------------------------ */

    const state = {
        conversationId: '',
        messages: [],      /* the working copy sent with the next message */
        token: '',         /* the token sent with the next message */
        signed: null,      /* {messages, token}: what the gateway last signed */
        previousToken: '', /* last token of the previous conversation */
        settings: { model: 'mock', stream: true, api: 'chat' },
        busy: false,
        refused: null,     /* explanation of the last refusal, until resolved */
        storageProblem: false,
    };

    function readJson(name, fallback) {
        const raw = localStorage.getItem(KEY + name);
        if (raw === null) return fallback;
        try {
            return JSON.parse(raw);
        } catch (e) {
            state.storageProblem = true;
            return fallback;
        }
    }

    function load() {
        state.storageProblem = false;
        state.conversationId = localStorage.getItem(KEY + 'conversationId') || '';
        const msgs = readJson('messages', []);
        state.messages = Array.isArray(msgs) ? msgs : [];
        if (!Array.isArray(msgs)) state.storageProblem = true;
        state.token = localStorage.getItem(KEY + 'token') || '';
        const signed = readJson('signed', null);
        state.signed = signed && Array.isArray(signed.messages) &&
            typeof signed.token === 'string' ? signed : null;
        state.previousToken = localStorage.getItem(KEY + 'previousToken') || '';
        const s = readJson('settings', {});
        state.settings = {
            model: s && typeof s.model === 'string' && s.model ? s.model : 'mock',
            stream: !(s && s.stream === false),
            /* the API this conversation speaks (its history is in that API's shape) */
            api: s && Apis.names.includes(s.api) ? s.api : 'chat',
        };
        if (!state.conversationId) {
            state.conversationId = randomId();
            save();
        }
    }

    function save() {
        localStorage.setItem(KEY + 'conversationId', state.conversationId);
        localStorage.setItem(KEY + 'messages', JSON.stringify(state.messages));
        if (state.token) localStorage.setItem(KEY + 'token', state.token);
        else localStorage.removeItem(KEY + 'token');
        if (state.signed) localStorage.setItem(KEY + 'signed', JSON.stringify(state.signed));
        else localStorage.removeItem(KEY + 'signed');
        if (state.previousToken) localStorage.setItem(KEY + 'previousToken', state.previousToken);
        localStorage.setItem(KEY + 'settings', JSON.stringify(state.settings));
    }

    function b64u(bytes) {
        let s = '';
        for (const b of bytes) s += String.fromCharCode(b);
        return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    }

    function randomId() {
        return 'c-' + b64u(crypto.getRandomValues(new Uint8Array(12)));
    }

    const clone = (v) => JSON.parse(JSON.stringify(v));
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

    /* ---- token header (read only: the browser cannot verify it) ------- */

    function decodeToken(token) {
        const parts = (token || '').split('.');
        if (parts.length !== 3 || parts[0] !== 'cs1' || !/^[A-Za-z0-9_-]+$/.test(parts[1]))
            return null;
        try {
            const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
            const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
            const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
            const header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
            return header && typeof header === 'object' && !Array.isArray(header) ? header : null;
        } catch (e) {
            return null;
        }
    }

    function formatTime(t) {
        if (typeof t !== 'number' || !isFinite(t)) return '–';
        const d = new Date(t * 1000);
        return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
    }

    /* ---- what changed in this browser --------------------------------- */

    /* Compares the working copy with the last signed history.  Messages on a
     * longest common subsequence of the two are in place; a message of the
     * signed history found elsewhere is "moved"; anything else is "changed"
     * (edited or added).  Signed messages that are gone are "missing"; an
     * edit shows up as one changed plus one missing, and is counted as an
     * edit.  Only for display: the gateway decides what is valid. */
    function changes() {
        const base = (state.signed ? state.signed.messages : []).map((m) => JSON.stringify(m));
        const cur = state.messages.map((m) => JSON.stringify(m));
        const n = base.length, m = cur.length;
        const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
        for (let i = n - 1; i >= 0; i--) {
            for (let j = m - 1; j >= 0; j--) {
                L[i][j] = base[i] === cur[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
            }
        }
        const inPlace = new Array(m).fill(false);
        for (let i = 0, j = 0; i < n && j < m;) {
            if (base[i] === cur[j]) {
                inPlace[j] = true;
                i++;
                j++;
            } else if (L[i + 1][j] >= L[i][j + 1]) {
                i++;
            } else {
                j++;
            }
        }
        const left = cur.slice();
        let missing = 0;
        for (const b of base) {
            const k = left.indexOf(b);
            if (k < 0) missing++;
            else left[k] = null;
        }
        const flags = cur.map((c, j) => (inPlace[j] ? '' : base.includes(c) ? 'moved' : 'changed'));
        const changed = flags.filter((f) => f === 'changed').length;
        const edited = Math.min(changed, missing);
        const tokenChanged = state.token !== (state.signed ? state.signed.token : '');
        return {
            flags,
            edited,
            added: changed - edited,
            deleted: missing - edited,
            moved: flags.filter((f) => f === 'moved').length,
            tokenChanged,
            any: tokenChanged || missing > 0 || changed > 0 || flags.some((f) => f),
        };
    }

    /* ---- rendering ---------------------------------------------------- */

    const ROLE_LABEL = { user: 'You', assistant: 'Assistant', system: 'System', tool: 'Tool', developer: 'Developer' };

    /* Responses history items without a role (tool calls, their results,
     * reasoning) are named by their type. */
    const ITEM_LABEL = { function_call: 'Tool call', function_call_output: 'Tool result', reasoning: 'Reasoning' };

    function roleLabel(m) {
        const role = m && m.role;
        if (typeof role === 'string') return ROLE_LABEL[role] || role;
        return m && typeof m.type === 'string' ? (ITEM_LABEL[m.type] || m.type) : 'unknown role';
    }

    function contentText(m) {
        if (!m || typeof m !== 'object') return JSON.stringify(m);
        if (m.type === 'function_call' && m.role === undefined) return (m.name || '') + '(' + (m.arguments || '') + ')';
        if (m.type === 'function_call_output' && m.role === undefined) return typeof m.output === 'string' ? m.output : JSON.stringify(m.output);
        const c = m.content;
        if (typeof c === 'string') return c;
        if (Array.isArray(c)) {
            return c.map((p) => (p && typeof p.text === 'string' ? p.text : JSON.stringify(p))).join('\n');
        }
        if (c === null || c === undefined) {
            return m.tool_calls ? JSON.stringify(m.tool_calls) : '';
        }
        return JSON.stringify(c);
    }

    function messageItem(m, index, flag) {
        const li = document.createElement('li');
        const role = m && typeof m.role === 'string' ? m.role : 'unknown';
        li.className = 'msg msg-' + (ROLE_LABEL[role] ? role : 'other');
        if (flag) li.classList.add('msg-flagged');
        const meta = document.createElement('div');
        meta.className = 'msg-meta';
        const who = document.createElement('span');
        who.className = 'msg-role';
        who.textContent = roleLabel(m);
        meta.appendChild(who);
        if (index !== null) {
            const num = document.createElement('span');
            num.className = 'msg-index';
            num.textContent = '#' + (index + 1);
            meta.appendChild(num);
        }
        if (flag) {
            const f = document.createElement('span');
            f.className = 'msg-flag';
            f.textContent = flag;
            meta.appendChild(f);
        }
        const body = document.createElement('div');
        body.className = 'msg-body';
        body.textContent = contentText(m);
        li.append(meta, body);
        return li;
    }

    function renderMessages(pending) {
        const ch = changes();
        const frag = document.createDocumentFragment();
        state.messages.forEach((m, i) => {
            const flag = ch.flags[i] === 'moved' ? 'moved in this browser'
                : ch.flags[i] !== 'changed' ? ''
                : !state.signed ? 'not signed'
                : ch.edited ? 'changed in this browser' : 'added in this browser';
            const li = messageItem(m, i, flag);
            li.dataset.index = String(i);
            if (state.refused && state.refused.where.includes(i)) {
                li.classList.add('msg-refused');
                const f = document.createElement('span');
                f.className = 'msg-flag msg-flag-refused';
                f.textContent = 'pointed out by the gateway';
                li.querySelector('.msg-meta').appendChild(f);
            }
            frag.appendChild(li);
        });
        for (const p of pending || []) frag.appendChild(p);
        el.messages.replaceChildren(frag);
        el.emptyHint.hidden = state.messages.length > 0 || (pending && pending.length > 0);
    }

    function messageOptionLabel(m, i) {
        let text = contentText(m).replace(/\s+/g, ' ').trim();
        if (text.length > 38) text = text.slice(0, 37) + '…';
        return '#' + (i + 1) + ' ' + roleLabel(m) + ': ' + (text || '(empty)');
    }

    function fillSelect(select, fallback) {
        const prev = select.value;
        const opts = state.messages.map((m, i) => new Option(messageOptionLabel(m, i), String(i)));
        select.replaceChildren(...opts);
        if (!opts.length) {
            select.appendChild(new Option('(no messages yet)', ''));
            select.disabled = true;
            return;
        }
        select.disabled = false;
        /* keep a choice the person made; otherwise follow the default (which
         * moves as the conversation grows) */
        const keep = select.dataset.picked === '1' && prev !== '' && Number(prev) < opts.length;
        select.value = keep ? prev : String(Math.min(fallback, opts.length - 1));
    }

    function fillEditFields() {
        const i = Number(el.editIndex.value);
        const m = state.messages[i];
        if (el.editIndex.value === '' || !m) {
            el.editContent.value = '';
            return;
        }
        const role = typeof m.role === 'string' ? m.role : 'user';
        if (![...el.editRole.options].some((o) => o.value === role)) {
            el.editRole.appendChild(new Option(role, role));
        }
        el.editRole.value = role;
        el.editContent.value = typeof m.content === 'string' || m.content == null
            ? (m.content || '') : JSON.stringify(m.content);
    }

    function shellQuote(s) {
        return /^[A-Za-z0-9._\-/=:]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'";
    }

    function exportFileName() {
        return 'chatseal-conversation-' + state.conversationId.replace(/[^A-Za-z0-9_-]/g, '_') + '.json';
    }

    function verifyCommand() {
        return 'CHATSEAL_KEY_FILE=gateway.key chatseal verify --token ' +
            (state.token ? shellQuote(state.token) : 'TOKEN') +
            ' --conversation ' + shellQuote(state.conversationId) + ' ' + exportFileName();
    }

    function plural(n, one, many) {
        return n + ' ' + (n === 1 ? one : many);
    }

    function render(pending) {
        renderMessages(pending);
        const ch = changes();
        const header = decodeToken(state.token);
        const n = state.messages.length;

        /* integrity: banner (short) and card (in plain words) */
        let bstate, btext, itext;
        if (state.refused) {
            bstate = 'refused';
            btext = 'Refused by the gateway: ' + state.refused.title.toLowerCase() +
                ' (' + state.refused.code + ').';
            itext = 'The gateway refused the last message: ' + state.refused.text +
                ' Restore the signed history or start a new conversation to go on.';
        } else if (ch.any) {
            bstate = 'tampered';
            btext = 'Changed in this browser – the gateway will refuse it.';
            itext = 'The history or token stored in this browser no longer matches what the gateway signed. ' +
                'Send a message to see the gateway refuse it, or restore the signed history.';
        } else if (state.token) {
            bstate = 'signed';
            btext = 'Signed by the gateway · ' + plural(n, 'message', 'messages') +
                (header && header.kid ? ' · key ' + header.kid : '');
            itext = 'Signed. The gateway signed all ' + plural(n, 'message', 'messages') +
                ' of this conversation' + (header && header.kid ? ' with key “' + header.kid + '”' : '') +
                (header && header.bnd ? ' and bound the signature to conversation ' + state.conversationId : '') +
                '. If any message is changed, deleted, moved or added, the next message will be refused.';
        } else {
            bstate = 'empty';
            btext = 'New conversation – nothing signed yet.';
            itext = 'Nothing has been signed yet. The first reply will come back with a token that covers the conversation so far.';
        }
        if (state.busy) {
            bstate = state.refused ? bstate : 'busy';
            btext = 'Waiting for the gateway…';
        }
        if (state.storageProblem) {
            itext += ' Some stored data could not be read and was ignored.';
        }
        el.banner.dataset.state = bstate;
        el.bannerText.textContent = btext;
        el.integrityText.textContent = itext;

        el.factCount.textContent = header && typeof header.n === 'number' ? String(header.n)
            : state.token ? 'unreadable token' : 'none yet';
        el.factStored.textContent = String(n) +
            (header && typeof header.n === 'number' && header.n !== n ? ' (not what the token covers)' : '');
        el.factKid.textContent = header && typeof header.kid === 'string' ? header.kid : '–';
        el.factConv.textContent = state.conversationId;
        el.factBound.textContent = !state.token ? '(nothing signed yet)' : !header ? ''
            : header.bnd ? '(bound into the token)' : '(the token is not bound to it)';
        el.factIat.textContent = header ? formatTime(header.iat) : '–';
        el.factExp.textContent = !header ? '–' : header.exp !== undefined ? formatTime(header.exp) : 'never';
        el.factToken.textContent = state.token || '(none)';
        el.factApi.textContent = Apis.label(state.settings.api) + ' · POST ' + Apis.path(state.settings.api);

        /* tamper panel */
        fillSelect(el.editIndex, n - 1);
        fillSelect(el.deleteIndex, n - 1);
        fillSelect(el.swapA, 0);
        fillSelect(el.swapB, 1);
        if (!el.editContent.value && document.activeElement !== el.editContent) fillEditFields();
        el.tokenPrevious.disabled = !state.previousToken;
        el.tokenRemove.disabled = !state.token;
        if (ch.any) {
            const parts = [];
            if (ch.edited) parts.push(plural(ch.edited, 'message', 'messages') + ' edited');
            if (ch.added) parts.push(plural(ch.added, 'message', 'messages') + ' added');
            if (ch.deleted) parts.push(plural(ch.deleted, 'message', 'messages') + ' deleted');
            if (ch.moved) parts.push(plural(ch.moved, 'message', 'messages') + ' moved');
            if (ch.tokenChanged) parts.push(state.token ? 'token replaced' : 'token removed');
            el.tamperState.textContent = 'Changed in this browser: ' + (parts.join(', ') || 'history changed') + '.';
            el.tamperState.hidden = false;
        } else {
            el.tamperState.hidden = true;
        }
        el.tamperRestore.hidden = !(ch.any && state.signed);
        el.rejRestore.hidden = !(ch.any && state.signed);

        el.verifyCommand.textContent = verifyCommand();
        /* the CLI reads Chat Completions histories; the other APIs' shapes
         * are mapped by the gateway's adapters */
        el.exportApiNote.hidden = state.settings.api === 'chat';
        el.exportApiNote.textContent = 'This conversation speaks ' + Apis.label(state.settings.api) +
            ': its export holds the messages in that API’s shape, which chatseal verify does not read yet (it reads Chat Completions histories). The gateway checks them on every message.';
        el.send.disabled = state.busy;
        el.messages.setAttribute('aria-busy', state.busy ? 'true' : 'false');
    }

    function announce(text) {
        el.status.textContent = text;
    }

    /* ---- rejection ---------------------------------------------------- */

    /* The message indices the gateway's report points at (0-based, in the
     * request that was sent: the stored history plus the new message). */
    function reportIndices(report, sent) {
        if (!report) return [];
        const ok = (i) => Number.isInteger(i) && i >= 0 && i < sent;
        let list = Array.isArray(report.tampered_indices) ? report.tampered_indices.filter(ok) : [];
        if (!list.length && ok(report.index)) list = [report.index];
        return [...new Set(list)].sort((a, b) => a - b).slice(0, 50);
    }

    function whereText(indices, sent) {
        if (!indices.length) return '';
        const names = indices.map((i) => '#' + (i + 1) + (i === sent - 1 ? ' (the message you just sent)' : ''));
        const list = names.length === 1 ? names[0]
            : names.slice(0, -1).join(', ') + ' and ' + names[names.length - 1];
        return 'Where: the gateway points at ' + (names.length === 1 ? 'message ' : 'messages ') + list +
            ' as numbered on this page (its own message counts from 0).';
    }

    function showRefusal(code, message, httpStatus, report, sent) {
        const e = explain(code);
        const where = reportIndices(report, sent || 0);
        state.refused = { code, title: e.title, text: e.text, kind: e.kind, where };
        el.rejWhere.textContent = whereText(where, sent || 0);
        el.rejWhere.hidden = !where.length;
        el.rejection.dataset.kind = e.kind;
        el.rejKind.textContent = e.kind === 'tamper' ? 'Tampering detected – the gateway refused this conversation'
            : e.kind === 'service' ? 'The message could not be answered'
            : 'The gateway refused the request';
        el.rejTitle.textContent = e.title;
        el.rejExplain.textContent = e.text;
        el.rejCode.textContent = code;
        el.rejStatus.textContent = httpStatus ? '(HTTP ' + httpStatus + ')' : '';
        el.rejMessage.textContent = message || '(no message)';
        el.rejHint.textContent = e.kind === 'tamper'
            ? 'Nothing was sent to the model. Put the history back as it was signed, or start over.'
            : 'Your conversation was not changed. You can try again, or start over.';
        el.rejection.hidden = false;
        render();
        el.rejTitle.focus();
    }

    function clearRefusal() {
        state.refused = null;
        el.rejection.hidden = true;
    }

    /* ---- talking to the gateway --------------------------------------- */

    const { GatewayError, errorFrom } = Apis;

    function pendingBubble() {
        const li = messageItem({ role: 'assistant', content: '' }, null, '');
        li.classList.add('msg-pending');
        li.querySelector('.msg-body').dataset.placeholder = 'writing…';
        return li;
    }

    async function send(text) {
        if (state.busy) return;
        clearRefusal();
        const user = { role: 'user', content: text };
        const outgoing = state.messages.concat([user]);
        const api = state.settings.api;
        const stream = state.settings.stream;
        const req = Apis.request(api, state.settings.model, outgoing, stream);
        const headers = Object.assign(req.headers, {
            'Content-Type': 'application/json',
            'Chatseal-Conversation': state.conversationId,
        });
        if (state.token) headers['Chatseal-Token'] = state.token;
        if (stream) headers.Accept = api === 'ollama' ? 'application/x-ndjson' : 'text/event-stream';

        state.busy = true;
        const userLi = messageItem(user, state.messages.length, '');
        const bubble = pendingBubble();
        render([userLi, bubble]);
        bubble.scrollIntoView({ block: 'nearest' });
        announce('Sending…');
        const bodyEl = bubble.querySelector('.msg-body');

        try {
            let res;
            try {
                res = await fetch(req.path, { method: 'POST', headers, body: req.body, cache: 'no-store', credentials: 'same-origin' });
            } catch (e) {
                throw new GatewayError('network', String(e && e.message || e));
            }
            if (!res.ok) {
                let obj = null;
                try {
                    obj = await res.json();
                } catch (e) { /* not JSON: fall through to the generic code */ }
                throw errorFrom(obj, res.status);
            }
            const signed = await Apis.readReply(res, api, (delta) => {
                bodyEl.textContent += delta;
                bubble.scrollIntoView({ block: 'nearest' });
            });
            state.messages = outgoing.concat(signed.reply);
            state.token = signed.token;
            state.signed = { messages: clone(state.messages), token: signed.token };
            state.busy = false;
            save();
            render();
            el.composer.scrollIntoView({ block: 'nearest' });
            const count = typeof signed.count === 'number' ? signed.count : state.messages.length;
            announce('Reply received and signed: the token now covers ' + plural(count, 'message', 'messages') +
                (count !== state.messages.length ? ' (this browser stores ' + state.messages.length + ')' : '') + '.');
        } catch (e) {
            state.busy = false;
            const err = e instanceof GatewayError ? e : new GatewayError('bad_reply', String(e && e.message || e));
            if (!el.input.value) el.input.value = text;
            render();
            announce('The message was not accepted (' + err.code + ').');
            showRefusal(err.code, err.message, err.status, err.report, outgoing.length);
        }
    }

    /* ---- actions ------------------------------------------------------ */

    function newConversation() {
        if (state.token) state.previousToken = state.token;
        state.conversationId = randomId();
        state.messages = [];
        state.token = '';
        state.signed = null;
        clearRefusal();
        el.editContent.value = '';
        save();
        render();
        announce('Started a new conversation.');
        el.input.focus();
    }

    function restoreSigned() {
        if (!state.signed) return;
        state.messages = clone(state.signed.messages);
        state.token = state.signed.token;
        clearRefusal();
        el.editContent.value = '';
        save();
        render();
        announce('Restored the history exactly as the gateway signed it.');
        el.input.focus();
    }

    function tampered(what) {
        if (state.refused) state.refused.where = []; /* they pointed into the old history */
        save();
        el.editContent.value = '';
        render();
        announce(what + ' Send a message to see what the gateway says.');
    }

    function selectedIndex(select) {
        const i = Number(select.value);
        return select.value !== '' && Number.isInteger(i) && i >= 0 && i < state.messages.length ? i : -1;
    }

    function exportConversation() {
        if (!state.messages.length) {
            announce('Nothing to export yet: send a message first.');
            return;
        }
        const data = {
            messages: state.messages,
            chatseal_token: state.token,
            conversation_id: state.conversationId,
        };
        if (state.settings.api !== 'chat') data.api = state.settings.api;
        const blob = new Blob([JSON.stringify(data, null, 2) + '\n'], { type: 'application/json' });
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url;
        a.download = exportFileName();
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
        announce('Exported ' + exportFileName() + '.' + (state.settings.api !== 'chat' ? '' : changes().any
            ? ' It contains your changes, so chatseal verify will reject it.'
            : ' Check it with the command under “Export and verify”.'));
    }

    el.composer.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const text = el.input.value.trim();
        if (!text) {
            announce('Type a message first.');
            el.input.focus();
            return;
        }
        if (state.busy) return;
        el.input.value = '';
        send(text);
    });
    el.input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
            ev.preventDefault();
            el.composer.requestSubmit();
        }
    });

    $('new-conversation').addEventListener('click', newConversation);
    el.rejNew.addEventListener('click', newConversation);
    el.rejRestore.addEventListener('click', restoreSigned);
    el.tamperRestore.addEventListener('click', restoreSigned);
    $('export-conversation').addEventListener('click', exportConversation);

    for (const sel of document.querySelectorAll('.message-select')) {
        sel.addEventListener('change', () => { sel.dataset.picked = '1'; });
    }
    el.editIndex.addEventListener('change', fillEditFields);
    $('tool-edit').addEventListener('toggle', (ev) => {
        if (ev.target.open) fillEditFields();
    });
    $('form-edit').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const i = selectedIndex(el.editIndex);
        if (i < 0) return announce('There is no message to edit yet.');
        const m = clone(state.messages[i]);
        const old = m.content;
        let content = el.editContent.value;
        if (!(typeof old === 'string' || old == null)) {
            try {
                content = JSON.parse(content);
            } catch (e) { /* keep it as text */ }
        }
        m.role = el.editRole.value;
        m.content = content;
        if (same(m, state.messages[i])) return announce('Nothing was changed: edit the text or the role first.');
        state.messages[i] = m;
        tampered('Message #' + (i + 1) + ' was edited in this browser.');
    });
    $('form-delete').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const i = selectedIndex(el.deleteIndex);
        if (i < 0) return announce('There is no message to delete yet.');
        state.messages.splice(i, 1);
        el.deleteIndex.dataset.picked = '';
        tampered('Message #' + (i + 1) + ' was deleted in this browser.');
    });
    $('form-swap').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const a = selectedIndex(el.swapA);
        const b = selectedIndex(el.swapB);
        if (a < 0 || b < 0 || a === b) return announce('Pick two different messages to swap.');
        const t = state.messages[a];
        state.messages[a] = state.messages[b];
        state.messages[b] = t;
        tampered('Messages #' + (a + 1) + ' and #' + (b + 1) + ' were swapped in this browser.');
    });
    $('form-append').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const text = el.appendContent.value.trim();
        if (!text) return announce('Write the fake reply first.');
        state.messages.push({ role: 'assistant', content: text });
        tampered('A fake assistant reply was added in this browser.');
    });
    $('form-token').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const t = el.tokenInput.value.trim();
        if (!t) return announce('Paste a token first (or use “Remove the token”).');
        state.token = t;
        tampered('The stored token was replaced.');
    });
    el.tokenPrevious.addEventListener('click', () => {
        el.tokenInput.value = state.previousToken;
        el.tokenInput.focus();
        announce('Filled in the last token of the previous conversation.');
    });
    el.tokenRemove.addEventListener('click', () => {
        state.token = '';
        tampered('The stored token was removed.');
    });

    el.copyCommand.addEventListener('click', async () => {
        const text = verifyCommand();
        try {
            await navigator.clipboard.writeText(text);
            announce('Command copied.');
        } catch (e) {
            const range = document.createRange();
            range.selectNodeContents(el.verifyCommand);
            const sel = window.getSelection();
            sel.removeAllRanges();
            sel.addRange(range);
            announce('Copying is not allowed here: the command is selected, copy it with Ctrl+C.');
        }
    });

    el.model.addEventListener('change', () => {
        state.settings.model = el.model.value.trim() || 'mock';
        el.model.value = state.settings.model;
        save();
    });
    el.stream.addEventListener('change', () => {
        state.settings.stream = el.stream.checked;
        save();
    });
    /* A history is in one API's shape: another API starts a new conversation. */
    el.api.addEventListener('change', () => {
        const api = el.api.value;
        if (!Apis.names.includes(api) || api === state.settings.api) return;
        const had = state.messages.length > 0 || !!state.token;
        state.settings.api = api;
        if (had) newConversation();
        save();
        render();
        announce('The page now speaks ' + Apis.label(api) + ' (POST ' + Apis.path(api) + ')' +
            (had ? '; a new conversation was started (a history cannot move between APIs).' : '.'));
    });

    /* Another tab (or devtools) changed the stored conversation. */
    window.addEventListener('storage', (ev) => {
        if (state.busy || (ev.key && !ev.key.startsWith(KEY))) return;
        load();
        el.api.value = state.settings.api;
        el.editContent.value = '';
        render();
    });

    load();
    el.model.value = state.settings.model;
    el.stream.checked = state.settings.stream;
    el.api.value = state.settings.api;
    render();
    document.documentElement.dataset.ready = 'true';
})();
