import AdvImaging
import AdvTensor
import Foundation

/// `advlab judge`'s static page: images from every setting of a judge set, one at a time, large
/// and without any hint of where each came from. The person types a name (which seeds the order,
/// so one page can be handed to several people), picks an instruction, then picks the class they
/// see (keys 0–9) or "not a <noun>" (key n); Backspace undoes the last answer, and progress
/// survives a reload (localStorage and the address's fragment). The page saves the labels as the JSON that
/// `advlab report --human` reads.
public enum JudgePage {
    /// Up to `perSetting` items of each setting of `set`, stratified over classes (and class
    /// pairs) with `seed`, in the set's setting order; the page shuffles them per annotator.
    public static func select(_ set: JudgeSet, perSetting: Int, seed: UInt64) -> [JudgeItem] {
        var rng = SeededGenerator(seed: seed)
        return set.settingList.flatMap { setting in
            JudgeSampling.stratified(
                set.items.filter { $0.setting == setting.setting }, count: perSetting,
                stratum: JudgeSampling.classStratum, using: &rng)
        }
    }

    /// A PNG data URI of an item's image.
    public static func dataURI(_ item: JudgeItem) throws -> String {
        let bitmap = Bitmap(width: item.size.width, height: item.size.height, channels: 1, pixels: item.pixels)
        return "data:image/png;base64," + Data(try PNG.encode(bitmap, name: item.id)).base64EncodedString()
    }

    /// The page. `noun`: the data set's word for one image ("digit"); `instruction`: the one
    /// selected at first (the person can switch before starting).
    public static func html(
        items: [JudgeItem], seed: UInt64, noun: String = "digit",
        instruction: JudgeInstruction = .lenient
    ) throws -> String {
        var entries: [String] = []
        for item in items {
            entries.append(
                "{\"id\":\(jsonString(item.id)),\"kind\":\(jsonString(item.kind)),\"intended\":\(item.intended),"
                    + "\"setting\":\(jsonString(item.setting)),\"src\":\"\(try dataURI(item))\"}")
        }
        let instructions = JudgeInstruction.allCases.map { "\(jsonString($0.rawValue)): \(jsonString($0.text(noun: noun)))" }
        let choices = JudgeInstruction.allCases.map { choice in
            "<label><input type=\"radio\" name=\"instruction\" value=\"\(choice.rawValue)\"\(choice == instruction ? " checked" : "")> "
                + (choice == .lenient ? "lenient (Song et al. 2018)" : "strict") + "</label>"
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>advlab judge: which \(noun) is this?</title>
            <style>
            body { font-family: system-ui, sans-serif; max-width: 760px; margin: 30px auto; text-align: center; color: #1b1b1b; }
            img { width: 336px; height: 336px; image-rendering: pixelated; border: 1px solid #bbb; background: black; }
            .buttons button { font-size: 1.4em; width: 3em; margin: 4px; padding: 6px; }
            .buttons button.none { width: auto; padding: 6px 14px; }
            #task, #done { display: none; }
            .instruction { background: #f4f4f0; padding: 8px 12px; text-align: left; }
            .muted { color: #666; font-size: 0.9em; }
            </style>
            </head>
            <body>
            <h1>Which \(noun) is this?</h1>
            <div id="start">
              <p><label>Your name: <input id="name" autocomplete="off"></label></p>
              <p class="muted">The name sets the order of the images and is saved with your labels; type the same name to carry on later.</p>
              <p>Instruction: \(choices.joined(separator: " "))</p>
              <p class="instruction" id="startInstruction"></p>
              <button id="begin">Begin</button>
            </div>
            <div id="task">
              <p class="instruction" id="taskInstruction"></p>
              <p id="progress"></p>
              <img id="image" alt="the image to label">
              <div class="buttons" id="buttons"></div>
              <p class="muted">Keys 0–9 and n work too; Backspace takes back the last answer.
              Progress is kept in this browser if the page is reloaded.
              Nothing is sent anywhere: at the end, save the labels and give the file to <code>advlab report --human</code>.</p>
            </div>
            <div id="done">
              <p>All images labelled. Thank you.</p>
              <button id="save">Save labels (JSON)</button>
              <p class="muted">Backspace takes back the last answer. <a href="#" id="restart">Label as someone else</a></p>
            </div>
            <script>
            const pageSeed = \(seed);
            const noun = \(jsonString(noun));
            const instructions = {\(instructions.joined(separator: ", "))};
            const items = [
            \(entries.joined(separator: ",\n"))
            ];
            // FNV-1a of a string, then mulberry32: the order for one name is the same in every browser.
            function hash(text) {
              let h = 0x811c9dc5;
              for (const c of new TextEncoder().encode(text)) { h ^= c; h = Math.imul(h, 0x01000193) >>> 0; }
              return h >>> 0;
            }
            function generator(seed) {
              let a = seed >>> 0;
              return () => {
                a = (a + 0x6D2B79F5) >>> 0;
                let t = a;
                t = Math.imul(t ^ (t >>> 15), t | 1);
                t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
                return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
              };
            }
            function orderFor(name) {
              const random = generator(hash(pageSeed + "/" + name));
              const order = items.map((_, index) => index);
              for (let i = order.length - 1; i > 0; i--) {
                const j = Math.floor(random() * (i + 1));
                [order[i], order[j]] = [order[j], order[i]];
              }
              return order;
            }
            const storageKey = "advlab-judge-" + pageSeed + "-" + hash(items.map((item) => item.id).join(","));
            let state = null;  // { name, instruction, answers }
            let order = [];
            // Progress is kept twice: in localStorage (it survives closing the tab) and in the
            // address's fragment (it survives a reload even where the browser drops a file://
            // page's localStorage across the reload, as headless Chromium 156 sometimes does).
            function fromFragment() {
              const text = decodeURIComponent(location.hash.slice(1));
              return text.startsWith(storageKey + ":") ? JSON.parse(text.slice(storageKey.length + 1)) : null;
            }
            try { state = fromFragment() || JSON.parse(localStorage.getItem(storageKey)); } catch (error) { state = null; }
            function store() {
              const text = state ? "#" + encodeURIComponent(storageKey + ":" + JSON.stringify(state)) : "";
              try { history.replaceState(null, "", location.pathname + location.search + text); } catch (error) {}
              try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (error) {}
            }
            const image = document.getElementById("image"), progress = document.getElementById("progress");
            function chosenInstruction() { return document.querySelector("input[name=instruction]:checked").value; }
            function showStartInstruction() { document.getElementById("startInstruction").textContent = instructions[chosenInstruction()]; }
            for (const radio of document.querySelectorAll("input[name=instruction]")) radio.onchange = showStartInstruction;
            function show() {
              document.getElementById("start").style.display = state ? "none" : "block";
              if (!state) {
                document.getElementById("task").style.display = "none";
                document.getElementById("done").style.display = "none";
                return;
              }
              const finished = state.answers.length >= items.length;
              document.getElementById("task").style.display = finished ? "none" : "block";
              document.getElementById("done").style.display = finished ? "block" : "none";
              if (finished) return;
              document.getElementById("taskInstruction").textContent = instructions[state.instruction];
              image.src = items[order[state.answers.length]].src;
              progress.textContent = "image " + (state.answers.length + 1) + " of " + items.length;
            }
            function begin(name, instruction) {
              state = { name: name, instruction: instruction, answers: [] };
              order = orderFor(name);
              store();
              show();
            }
            function answer(value) { if (state && state.answers.length < items.length) { state.answers.push(value); store(); show(); } }
            function undo() { if (state && state.answers.length > 0) { state.answers.pop(); store(); show(); } }
            const buttons = document.getElementById("buttons");
            for (let digit = 0; digit <= 9; digit++) {
              const button = document.createElement("button");
              button.textContent = digit;
              button.onclick = () => answer(digit);
              buttons.appendChild(button);
            }
            const none = document.createElement("button");
            none.textContent = "not a " + noun;
            none.className = "none";
            none.onclick = () => answer(null);
            buttons.appendChild(none);
            document.getElementById("begin").onclick = () => {
              const name = document.getElementById("name").value.trim();
              if (!name) { document.getElementById("name").focus(); return; }
              begin(name, chosenInstruction());
            };
            document.getElementById("restart").onclick = (event) => {
              event.preventDefault();
              state = null;
              store();
              try { localStorage.removeItem(storageKey); } catch (error) {}
              show();
            };
            document.addEventListener("keydown", (event) => {
              if (!state || event.target.tagName === "INPUT") return;
              if (event.key >= "0" && event.key <= "9") answer(Number(event.key));
              else if (event.key === "n") answer(null);
              else if (event.key === "Backspace") { event.preventDefault(); undo(); }
            });
            document.getElementById("save").onclick = () => {
              const labels = order.map((index, position) => ({ id: items[index].id, kind: items[index].kind, intended: items[index].intended,
                                                               setting: items[index].setting, answer: state.answers[position] }));
              const saved = { format: "advlab-labels", page_seed: pageSeed, annotator: state.name, instruction: state.instruction,
                              origin: "page", labels: labels };
              const blob = new Blob([JSON.stringify(saved, null, 1)], { type: "application/json" });
              const link = document.createElement("a");
              link.href = URL.createObjectURL(blob);
              link.download = "advlab-labels-" + state.name.replace(/[^A-Za-z0-9_-]/g, "_") + "-" + pageSeed + ".json";
              link.click();
            };
            if (state) order = orderFor(state.name);
            showStartInstruction();
            show();
            </script>
            </body>
            </html>

            """
    }

    static func jsonString(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
