package dev.tether.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BinaryNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.tether.core.Payload;
import java.util.ArrayList;
import java.util.List;

/** Converts event arguments between Java values and the engine's payloads, with the server's mapper. */
final class Arguments {

    private final ObjectMapper mapper;

    Arguments(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * The arguments as one JSON array payload: a {@link JsonNode} as is, {@code byte[]} as a
     * binary attachment, anything else through Jackson's tree conversion.
     */
    Payload payload(Object... args) {
        ArrayNode array = JsonNodeFactory.instance.arrayNode(args.length);
        for (Object arg : args) {
            array.add(node(arg));
        }
        return Payload.json(array);
    }

    private JsonNode node(Object arg) {
        if (arg == null) {
            return JsonNodeFactory.instance.nullNode();
        }
        if (arg instanceof JsonNode n) {
            return n;
        }
        if (arg instanceof byte[] b) {
            return BinaryNode.valueOf(b.clone());
        }
        if (arg instanceof String s) {
            return JsonNodeFactory.instance.textNode(s);
        }
        return mapper.valueToTree(arg);
    }

    /** The argument list a payload stands for (see {@code SocketIoProtocol}). */
    static List<JsonNode> list(Payload payload) {
        if (payload instanceof Payload.Json j && j.value().isArray()) {
            List<JsonNode> list = new ArrayList<>(j.value().size());
            j.value().forEach(list::add);
            return List.copyOf(list);
        }
        if (payload instanceof Payload.Json j) {
            return List.of(j.value());
        }
        if (payload instanceof Payload.Text t) {
            return List.of(JsonNodeFactory.instance.textNode(t.value()));
        }
        return List.of(BinaryNode.valueOf(((Payload.Binary) payload).toByteArray()));
    }
}
